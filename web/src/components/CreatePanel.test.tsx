import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Created } from "../api/client";
import { ApiError } from "../api/client";
import { CreatePanel } from "./CreatePanel";
import { created, fakeApi, offeredDomain, policy } from "./testing";

describe("CreatePanel", () => {
  it("shows progress, then hands the credentials on and is ready for the next", async () => {
    let finish: (value: Created) => void = () => {};
    const api = fakeApi({
      create: vi.fn(() => new Promise<Created>((resolve) => (finish = resolve))),
    });
    const onCreated = vi.fn();
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={onCreated} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    const busy = screen.getByRole("button", { name: "Creating…" });
    expect(busy).toHaveAttribute("aria-disabled", "true");
    // A second press while it runs creates nothing more.
    await user.click(busy);
    expect(api.create).toHaveBeenCalledTimes(1);

    const answer = created("contact@example.com", "sandbox-First-1");
    finish(answer);
    await screen.findByRole("button", { name: "Create address" });
    expect(onCreated).toHaveBeenCalledWith(answer);
    expect(api.create).toHaveBeenCalledWith(
      { username: "contact", displayName: "", domain: undefined, provider: undefined },
      expect.any(String),
    );
    expect(screen.getByLabelText("Username")).toHaveValue("");
  });

  it("says in a sentence why a create was refused, and offers the suggestions it came with", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(409, "address_taken", "contact@example.com is already taken", ["contact-team@example.com"]);
      }),
    });
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={vi.fn()} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That address is already taken.");
    await user.click(screen.getByRole("button", { name: "Use contact-team@example.com" }));
    expect(screen.getByLabelText("Username")).toHaveValue("contact-team");
    expect(screen.getByLabelText("Username")).toHaveFocus();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("offers the suggestions of a name refused as a look-alike", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(409, "address_lookalike", "supp0rt passes for support", ["supp0rt-desk@example.com"]);
      }),
    });
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={vi.fn()} />);
    await user.type(screen.getByLabelText("Username"), "supp0rt");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "That name looks too much like a reserved or taken address.",
    );
    expect(screen.getByRole("button", { name: "Use supp0rt-desk@example.com" })).toBeInTheDocument();
  });

  it("passes on why the user may not create, and sends them to an administrator", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(403, "forbidden", "you are not in a group that may create addresses");
      }),
    });
    const onCreated = vi.fn();
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={onCreated} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "You are not allowed to do this: you are not in a group that may create addresses. Ask an administrator if you need it. Nothing was created.",
    );
    expect(onCreated).not.toHaveBeenCalled();
  });

  it("shows no password for a retried create whose credentials were rotated since, and says what to do", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(409, "credentials_rotated", "the credentials have been rotated since");
      }),
    });
    const onCreated = vi.fn();
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={onCreated} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("That address exists");
    expect(alert).toHaveTextContent("rotate its credentials from your list");
    expect(onCreated).not.toHaveBeenCalled();
  });

  it("says how long to wait when the daily limit is reached", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(429, "rate_limited", "the daily limit of 10 new addresses is reached", [], 600);
      }),
    });
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={vi.fn()} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You can create more in 10 min.");
  });

  it("offers the policy's domains and providers, and sends the ones chosen", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    const offered = policy({
      domains: [
        offeredDomain("example.com", "sandbox"),
        offeredDomain("support.example.com", "ses"),
      ],
      providers: ["sandbox", "ses"],
      daily_create_limit: 3,
    });
    render(<CreatePanel api={api} policy={offered} onCreated={vi.fn()} />);
    expect(screen.getByText("Up to 3 new addresses a day.")).toBeInTheDocument();
    await user.selectOptions(screen.getByRole("combobox", { name: "Domain" }), "support.example.com");
    const provider = screen.getByRole("combobox", { name: "Provider" });
    // The default option names where this domain's creates go.
    expect(within(provider).getByRole("option", { name: "The domain's (Amazon SES)" })).toBeInTheDocument();
    await user.selectOptions(provider, "sandbox");
    await user.type(screen.getByLabelText("Username"), "help");
    await user.type(screen.getByLabelText("Display name (optional)"), "Help desk");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(api.create).toHaveBeenCalledWith(
      { username: "help", displayName: "Help desk", domain: "support.example.com", provider: "sandbox" },
      expect.any(String),
    );
  });

  describe("before a create whose credentials reach beyond the address", () => {
    const fallback = "A SendGrid key can send as any address of the domain, not only this one.";
    const button = () => screen.getByRole("button", { name: "Create address" });

    it("shows the provider's note, tied to the button, when the domain's provider is SendGrid", () => {
      const offered = policy({
        domains: [offeredDomain("example.com", "sendgrid")],
        providers: ["sendgrid"],
        provider_details: [
          { name: "sendgrid", least_privilege: false, note: "This key can send as anyone at example.com.", capacity: null, guard_rails: { enforced: false } },
        ],
      });
      render(<CreatePanel api={fakeApi()} policy={offered} onCreated={vi.fn()} />);
      expect(screen.getByText("This key can send as anyone at example.com.")).toBeVisible();
      expect(button()).toHaveAccessibleDescription("This key can send as anyone at example.com.");
    });

    it("falls back to its own sentence when the policy has no note", () => {
      const offered = policy({ domains: [offeredDomain("example.com", "sendgrid")], providers: ["sendgrid"] });
      render(<CreatePanel api={fakeApi()} policy={offered} onCreated={vi.fn()} />);
      expect(screen.getByText(fallback)).toBeVisible();
      expect(button()).toHaveAccessibleDescription(fallback);
    });

    it("follows the provider picked, and the domain's when none is", async () => {
      const user = userEvent.setup();
      const offered = policy({
        domains: [
          offeredDomain("example.com", "ses"),
          offeredDomain("news.example.com", "sendgrid"),
        ],
        providers: ["ses", "sendgrid"],
      });
      render(<CreatePanel api={fakeApi()} policy={offered} onCreated={vi.fn()} />);
      // SES hands out credentials for their own address only: nothing to say.
      expect(screen.queryByText(fallback)).not.toBeInTheDocument();
      expect(button()).not.toHaveAttribute("aria-describedby");
      const provider = screen.getByRole("combobox", { name: "Provider" });
      await user.selectOptions(provider, "sendgrid");
      expect(button()).toHaveAccessibleDescription(fallback);
      await user.selectOptions(provider, "");
      expect(screen.queryByText(fallback)).not.toBeInTheDocument();
      await user.selectOptions(screen.getByRole("combobox", { name: "Domain" }), "news.example.com");
      expect(button()).toHaveAccessibleDescription(fallback);
      await user.selectOptions(provider, "ses");
      expect(screen.queryByText(fallback)).not.toBeInTheDocument();
    });
  });

  it("shows no picker where there is nothing to pick", () => {
    render(<CreatePanel api={fakeApi()} policy={policy()} onCreated={vi.fn()} />);
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.getByText("@example.com")).toBeInTheDocument();
  });

  it("says a create whose answer a gateway lost may have happened, and has the list looked at", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(504, "gateway_timeout", "HTTP 504 from a gateway", [], undefined, "gw-504");
      }),
    });
    const onFailed = vi.fn();
    const user = userEvent.setup();
    render(<CreatePanel api={api} policy={policy()} onCreated={vi.fn()} onFailed={onFailed} />);
    await user.type(screen.getByLabelText("Username"), "kundenservice.zahlungsverkehr");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(
      "The service did not answer in time. The address may or may not have been created: look for it in your list of addresses before you try again",
    );
    expect(alert).toHaveTextContent("quote the request id gw-504.");
    expect(alert).toHaveClass("carries-address");
    expect(onFailed).toHaveBeenCalledTimes(1);
  });
});
