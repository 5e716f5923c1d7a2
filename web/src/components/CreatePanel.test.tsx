import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Created } from "../api/client";
import { ApiError } from "../api/client";
import { CreatePanel } from "./CreatePanel";
import { created, fakeApi } from "./testing";

describe("CreatePanel", () => {
  it("shows progress, then the credentials once, with the focus on them", async () => {
    let finish: (value: Created) => void = () => {};
    const api = fakeApi({
      create: vi.fn(() => new Promise<Created>((resolve) => (finish = resolve))),
    });
    const onCreated = vi.fn();
    const user = userEvent.setup();
    render(<CreatePanel api={api} onCreated={onCreated} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(screen.getByRole("button", { name: "Creating…" })).toBeDisabled();

    finish(created("contact@example.com", "sandbox-First-1"));
    const heading = await screen.findByRole("heading", { name: "Credentials of contact@example.com" });
    expect(heading).toHaveFocus();
    expect(screen.getByText("sandbox-First-1")).toBeInTheDocument();
    expect(onCreated).toHaveBeenCalledTimes(1);
    expect(api.create).toHaveBeenCalledWith("contact", "", expect.any(String));
  });

  it("says in a sentence why a create was refused", async () => {
    const api = fakeApi({
      create: vi.fn(async () => {
        throw new ApiError(409, "address_taken", "contact@example.com is already taken", ["contact-team@example.com"]);
      }),
    });
    const user = userEvent.setup();
    render(<CreatePanel api={api} onCreated={vi.fn()} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That address is already taken.");
  });
});
