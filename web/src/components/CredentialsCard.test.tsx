import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
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
  it("says the password is shown once and copies each field", async () => {
    const user = userEvent.setup();
    render(<CredentialsCard created={created} />);
    expect(screen.getByText("Shown only once.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Copy password" }));
    expect(await navigator.clipboard.readText()).toBe("sandbox-Secret-123");
    await user.click(screen.getByRole("button", { name: "Copy smtp server" }));
    expect(await navigator.clipboard.readText()).toBe("smtp.sandbox.invalid");
  });
});
