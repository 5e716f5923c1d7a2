import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { AccountsList } from "./AccountsList";
import { account, fakeApi } from "./testing";

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
    render(<AccountsList api={fakeApi()} accounts={accounts} onChanged={vi.fn()} />);
    const contact = screen.getByRole("row", { name: /contact@example.com/ });
    expect(within(contact).getByText("2 / 40")).toBeInTheDocument();
    expect(within(contact).getByText("1 / 0")).toBeInTheDocument();
    const news = screen.getByRole("row", { name: /news@example.com/ });
    expect(within(news).getAllByText(/— \/ —/)).toHaveLength(2);
    expect(within(news).getByText(/do not say which sender/)).toBeInTheDocument();
  });

  it("asks before deleting, naming the address and the quarantine", async () => {
    const api = fakeApi();
    const onChanged = vi.fn();
    const user = userEvent.setup();
    render(<AccountsList api={api} accounts={[account("contact@example.com")]} onChanged={onChanged} />);
    await user.click(screen.getByRole("button", { name: "Delete contact@example.com" }));
    const confirmation = screen.getByRole("group", { name: "Confirm deleting contact@example.com" });
    expect(confirmation).toHaveTextContent("unavailable to anyone for 30 days (quarantine)");
    expect(api.remove).not.toHaveBeenCalled();
    await user.click(within(confirmation).getByRole("button", { name: "Yes, delete contact@example.com" }));
    expect(api.remove).toHaveBeenCalledWith("contact@example.com");
    expect(onChanged).toHaveBeenCalledTimes(1);
  });

  it("shows a rotation's new password once, and disables then enables", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    const { rerender } = render(
      <AccountsList api={api} accounts={[account("contact@example.com")]} onChanged={vi.fn()} />,
    );
    await user.click(screen.getByRole("button", { name: "Rotate credentials of contact@example.com" }));
    expect(await screen.findByText("sandbox-Second-2")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Disable contact@example.com" }));
    expect(api.setSending).toHaveBeenCalledWith("contact@example.com", false);
    rerender(
      <AccountsList api={api} accounts={[account("contact@example.com", { status: "disabled" })]} onChanged={vi.fn()} />,
    );
    await user.click(screen.getByRole("button", { name: "Enable contact@example.com" }));
    expect(api.setSending).toHaveBeenCalledWith("contact@example.com", true);
  });
});
