import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Created } from "../api/client";
import { CredentialsCard } from "./CredentialsCard";

const created: Created = {
  success: true,
  email: "contact@example.com",
  display_name: "Contact",
  provider: "sandbox",
  status: "active",
  credentials: {
    smtp_server: "smtp.sandbox.invalid",
    smtp_port: 587,
    username: "contact@example.com",
    password: "sandbox-Secret-123",
    authentication: "password",
  },
  webmail: null,
  created_at: "2026-11-25T09:00:00Z",
};

describe("CredentialsCard", () => {
  it("says the password is shown once, copies each field and says so, and takes the focus", async () => {
    const user = userEvent.setup();
    const onDone = vi.fn();
    render(<CredentialsCard created={created} title="Credentials of contact@example.com" onDone={onDone} />);
    expect(screen.getByRole("heading", { name: "Credentials of contact@example.com" })).toHaveFocus();
    expect(screen.getByText("Shown only once.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Copy the password" }));
    expect(await navigator.clipboard.readText()).toBe("sandbox-Secret-123");
    expect(screen.getByRole("status")).toHaveTextContent("Password copied.");
    await user.click(screen.getByRole("button", { name: "Copy the smtp server" }));
    expect(await navigator.clipboard.readText()).toBe("smtp.sandbox.invalid");
    await user.click(screen.getByRole("button", { name: /hide the password/ }));
    expect(onDone).toHaveBeenCalledTimes(1);
  });

  it("says why mail may not arrive when the domain fails checks", () => {
    const warned: Created = {
      ...created,
      warnings: [
        {
          check: "dmarc",
          status: "missing",
          found: null,
          expected: "v=DMARC1; p=none",
          message: "example.com has no DMARC record: add it at _dmarc.example.com",
        },
      ],
    };
    render(<CredentialsCard created={warned} title="Credentials of contact@example.com" onDone={vi.fn()} />);
    const note = screen.getByRole("note", { name: "The domain's checks" });
    expect(note).toHaveTextContent("Mail from this address may not arrive");
    expect(note).toHaveTextContent("example.com has no DMARC record: add it at _dmarc.example.com");
  });

  it("says nothing of the domain when it passes its checks", () => {
    render(<CredentialsCard created={created} title="Credentials of contact@example.com" onDone={vi.fn()} />);
    expect(screen.queryByRole("note")).not.toBeInTheDocument();
  });

  it("tells a mailbox user that SMTP wants OAuth, and links the webmail", () => {
    const mailbox: Created = {
      ...created,
      provider: "microsoft365",
      credentials: { ...created.credentials, authentication: "xoauth2" },
      webmail: "https://outlook.office.com/mail/",
    };
    render(<CredentialsCard created={mailbox} title="Credentials" onDone={vi.fn()} />);
    expect(screen.getByText(/sign in with OAuth \(XOAUTH2\)/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "https://outlook.office.com/mail/" })).toBeInTheDocument();
  });
});
