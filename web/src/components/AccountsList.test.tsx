import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import type { Account, Api } from "../api/client";
import { AccountsList } from "./AccountsList";
import { account, fakeApi } from "./testing";

/** The list with every callback a mock, as `overrides` leave them. */
function props(api: Api, accounts: Account[], overrides: Partial<Parameters<typeof AccountsList>[0]> = {}) {
  return { api, accounts, onChanged: vi.fn(), onRotated: vi.fn(), onRemoved: vi.fn(), ...overrides };
}

/** The value of the fact `label` in an account's card. */
function fact(card: HTMLElement, label: string): string {
  const term = within(card).getByText(label, { selector: "dt" });
  return term.nextElementSibling?.textContent ?? "";
}

describe("AccountsList", () => {
  it("shows each address with its statistics, and why where a provider cannot report", () => {
    const accounts = [
      account("contact@example.com"),
      account("news@example.com", {
        provider: "sendgrid",
        emails_sent_today: null,
        emails_sent_month: null,
        bounces_month: null,
        complaints_month: null,
        stats_unavailable_reason: "SendGrid's events do not say which sender sent a message",
      }),
    ];
    render(<AccountsList {...props(fakeApi(), accounts, { quarantineDays: 30 })} />);
    const contact = screen.getByRole("article", { name: "contact@example.com" });
    expect(fact(contact, "Sent today / this month")).toBe("2 / 40");
    expect(fact(contact, "Bounces / complaints this month")).toBe("1 / 0");
    expect(fact(contact, "Provider")).toBe("Sandbox (not real mail)");
    expect(fact(contact, "Status")).toBe("Active");
    expect(fact(contact, "Created")).toBe("2026-11-25");
    expect(fact(contact, "SMTP")).toBe("smtp.sandbox.invalid:587, user contact@example.com");
    const news = screen.getByRole("article", { name: "news@example.com" });
    expect(fact(news, "Sent today / this month")).toBe("— / —");
    expect(fact(news, "Bounces / complaints this month")).toBe("— / —");
    expect(within(news).getByText(/do not say which sender/)).toBeInTheDocument();
    expect(within(contact).queryByText(/No figures/)).not.toBeInTheDocument();
  });

  it("shows a suspended address, why, and what lifts it; its owner may rotate, then ask to enable it", async () => {
    const api = fakeApi();
    vi.mocked(api.setSending).mockRejectedValueOnce(
      new ApiError(409, "account_suspended", "support@example.com is suspended (bounce_rate): rotate its credentials, then enable it"),
    );
    const suspended = account("support@example.com", {
      status: "suspended",
      suspension: { reason: "bounce_rate", since: "2026-11-25T10:00:00Z", lifted_by: "owner_after_rotation" },
    });
    const limited = account("sales@example.com", {
      status: "suspended",
      suspension: {
        reason: "send_limit",
        since: "2026-11-25T10:00:00Z",
        lifted_by: "next_utc_day",
        lifts_at: "2026-11-26T00:00:00Z",
      },
    });
    const elsewhere = account("news@example.com", {
      provider: "microsoft365",
      guard_rails: { enforced: false, why_not: "the provider reports a mailbox's sends only in a daily usage report" },
    });
    const user = userEvent.setup();
    render(<AccountsList {...props(api, [suspended, limited, elsewhere])} />);
    const card = screen.getByRole("article", { name: "support@example.com" });
    expect(fact(card, "Status")).toBe("Suspended (not sending)");
    expect(fact(card, "Why it is suspended")).toBe(
      "Sending is stopped: too many of its messages bounced over the last 7 days. Rotate its credentials (the old password may have leaked), then enable it; an administrator can too.",
    );
    expect(fact(screen.getByRole("article", { name: "sales@example.com" }), "Why it is suspended")).toMatch(
      /restarts by itself at 2026-11-26 00:00 UTC/,
    );
    expect(within(screen.getByRole("article", { name: "news@example.com" })).getByText(/No sending limits are watched/)).toBeVisible();
    expect(within(card).queryByText(/No sending limits/)).not.toBeInTheDocument();

    expect(screen.getByRole("button", { name: "Rotate credentials of support@example.com" })).not.toHaveAttribute("aria-disabled", "true");
    await user.click(screen.getByRole("button", { name: "Enable support@example.com" }));
    expect(api.setSending).toHaveBeenCalledWith("support@example.com", true);
    expect(await screen.findByRole("alert")).toHaveTextContent(/This address is suspended: .*rotate its credentials, then enable it/);
  });

  it("asks before deleting, naming the address and the policy's quarantine, then says when it frees", async () => {
    const api = fakeApi();
    const shown = props(api, [account("contact@example.com")], { quarantineDays: 14 });
    const user = userEvent.setup();
    render(<AccountsList {...shown} />);
    await user.click(screen.getByRole("button", { name: "Delete contact@example.com" }));
    const confirmation = screen.getByRole("group", { name: "Confirm deleting contact@example.com" });
    expect(confirmation).toHaveTextContent("unavailable to anyone for 14 days (quarantine)");
    // The safe choice has the focus.
    expect(within(confirmation).getByRole("button", { name: "Keep it" })).toHaveFocus();
    expect(api.remove).not.toHaveBeenCalled();
    await user.click(within(confirmation).getByRole("button", { name: "Yes, delete contact@example.com" }));
    expect(api.remove).toHaveBeenCalledWith("contact@example.com");
    expect(shown.onChanged).toHaveBeenCalledTimes(1);
    expect(shown.onRemoved).toHaveBeenCalledWith("contact@example.com");
    expect(screen.getByRole("status")).toHaveTextContent(
      "contact@example.com is deleted. Nobody can create it again before 2026-12-25.",
    );
    expect(screen.getByRole("heading", { name: "Your addresses" })).toHaveFocus();
  });

  it("keeps the address on Escape and gives the focus back to its Delete button", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    render(<AccountsList {...props(api, [account("contact@example.com")], { quarantineDays: 30 })} />);
    const remove = screen.getByRole("button", { name: "Delete contact@example.com" });
    await user.click(remove);
    expect(remove).toHaveAttribute("aria-expanded", "true");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("group")).not.toBeInTheDocument();
    expect(remove).toHaveFocus();
    expect(api.remove).not.toHaveBeenCalled();
  });

  it("hands a rotation's new credentials on, and disables then enables", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    const shown = props(api, [account("contact@example.com")]);
    const { rerender } = render(<AccountsList {...shown} />);
    await user.click(screen.getByRole("button", { name: "Rotate credentials of contact@example.com" }));
    expect(shown.onRotated).toHaveBeenCalledWith(
      expect.objectContaining({ credentials: expect.objectContaining({ password: "sandbox-Second-2" }) }),
    );
    // The password is the credentials card's to show, never the list's.
    expect(screen.queryByText("sandbox-Second-2")).not.toBeInTheDocument();

    const disable = screen.getByRole("button", { name: "Disable contact@example.com" });
    await user.click(disable);
    expect(api.setSending).toHaveBeenCalledWith("contact@example.com", false);
    expect(screen.getByText(/is disabled: it cannot send until you enable it/)).toBeInTheDocument();
    rerender(<AccountsList {...shown} accounts={[account("contact@example.com", { status: "disabled" })]} />);
    // The same button, now the other way round, keeps the focus.
    const enable = screen.getByRole("button", { name: "Enable contact@example.com" });
    expect(enable).toBe(disable);
    expect(enable).toHaveFocus();
    expect(screen.getByRole("button", { name: "Rotate credentials of contact@example.com" })).toHaveAttribute(
      "aria-disabled",
      "true",
    );
    await user.click(enable);
    expect(api.setSending).toHaveBeenCalledWith("contact@example.com", true);
  });

  it("says why a change was refused, that the address is as it was, and refreshes", async () => {
    const api = fakeApi({
      rotate: vi.fn(async () => {
        throw new ApiError(502, "provider_error", "sendgrid refused the request: key limit reached");
      }),
    });
    const shown = props(api, [account("contact@example.com")]);
    const user = userEvent.setup();
    render(<AccountsList {...shown} />);
    await user.click(screen.getByRole("button", { name: "Rotate credentials of contact@example.com" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The mail provider refused: sendgrid refused the request: key limit reached. The address is as it was.",
    );
    expect(shown.onChanged).toHaveBeenCalledTimes(1);
    expect(shown.onRotated).not.toHaveBeenCalled();
  });

  it("says how long to wait when the daily rotation limit is reached, speaking of rotations", async () => {
    const api = fakeApi({
      rotate: vi.fn(async () => {
        throw new ApiError(429, "rate_limited", "the daily limit of 20 rotations is reached", [], 1800);
      }),
    });
    const shown = props(api, [account("contact@example.com")]);
    const user = userEvent.setup();
    render(<AccountsList {...shown} />);
    await user.click(screen.getByRole("button", { name: "Rotate credentials of contact@example.com" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("You have rotated credentials as many times as allowed today. You can rotate again in 30 min.");
    expect(alert).not.toHaveTextContent(/new addresses/);
    expect(shown.onRotated).not.toHaveBeenCalled();
  });

  it("says so when there is no address yet", () => {
    render(<AccountsList {...props(fakeApi(), [])} />);
    expect(screen.getByText("You have no address yet.")).toBeInTheDocument();
  });

  it("lets a long dotted address wrap in its card, its delete confirmation and the message after the delete", async () => {
    const long = "kundenservice.zahlungsverkehr@example.com";
    const user = userEvent.setup();
    render(<AccountsList {...props(fakeApi(), [account(long)], { quarantineDays: 30 })} />);
    expect(screen.getByRole("heading", { name: long })).toHaveClass("carries-address");
    await user.click(screen.getByRole("button", { name: `Delete ${long}` }));
    const confirmation = screen.getByRole("group", { name: `Confirm deleting ${long}` });
    expect(within(confirmation).getByText(new RegExp(`^Delete ${long}\\?`))).toHaveClass("carries-address");
    const yes = within(confirmation).getByRole("button", { name: `Yes, delete ${long}` });
    expect(yes).toHaveClass("carries-address");
    await user.click(yes);
    const done = screen.getByRole("status");
    expect(done).toHaveTextContent(`${long} is deleted.`);
    expect(done).toHaveClass("carries-address");
  });
});
