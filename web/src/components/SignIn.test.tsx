import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { SignIn } from "./SignIn";
import { jwt } from "./testing";

describe("SignIn", () => {
  beforeEach(() => sessionStorage.clear());

  it("links to the product's sign-in when there is one, and takes a pasted token", async () => {
    const onSession = vi.fn();
    const user = userEvent.setup();
    render(<SignIn signInUrl="https://app.example.com/login?next=panel" onSession={onSession} />);
    expect(screen.getByRole("link", { name: "Sign in with the product" })).toHaveAttribute(
      "href",
      "https://app.example.com/login?next=panel",
    );
    const token = jwt({ sub: "user-1", exp: Math.floor(Date.now() / 1000) + 600 });
    await user.click(screen.getByLabelText("Or paste your sign-in token (JWT)"));
    await user.paste(token);
    await user.click(screen.getByRole("button", { name: "Use this token" }));
    expect(onSession).toHaveBeenCalledWith(expect.objectContaining({ identity: { token } }));
  });

  it("sends the user to the sign-in with a fresh state it stored, in this tab", async () => {
    const navigate = vi.fn();
    const user = userEvent.setup();
    render(<SignIn signInUrl="https://app.example.com/login?next=panel" onSession={vi.fn()} navigate={navigate} />);
    const link = screen.getByRole("link", { name: "Sign in with the product" });
    await user.click(link);
    expect(navigate).toHaveBeenCalledTimes(1);
    const target = new URL(navigate.mock.calls[0][0]);
    expect(target.origin + target.pathname).toBe("https://app.example.com/login");
    expect(target.searchParams.get("next")).toBe("panel");
    const state = target.searchParams.get("state");
    expect(state).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(sessionStorage.getItem("email-provisioning.sign-in-state")).toBe(state);
    // A second press starts a new sign-in, with a state of its own.
    await user.click(link);
    expect(new URL(navigate.mock.calls[1][0]).searchParams.get("state")).not.toBe(state);
    expect(sessionStorage.getItem("email-provisioning.sign-in-state")).toBe(
      new URL(navigate.mock.calls[1][0]).searchParams.get("state"),
    );
  });

  it("says what is wrong with a pasted token, and marks the field", async () => {
    const onSession = vi.fn();
    const user = userEvent.setup();
    render(<SignIn onSession={onSession} />);
    const field = screen.getByLabelText("Or paste your sign-in token (JWT)");
    await user.type(field, "my password");
    await user.click(screen.getByRole("button", { name: "Use this token" }));
    expect(screen.getByRole("alert")).toHaveTextContent("a JWT is three parts separated by dots");
    expect(field).toHaveAttribute("aria-invalid", "true");
    await user.clear(field);
    await user.click(field);
    await user.paste(jwt({ sub: "user-1", exp: 1_000_000 }));
    await user.click(screen.getByRole("button", { name: "Use this token" }));
    expect(screen.getByRole("alert")).toHaveTextContent("That token has expired.");
    expect(onSession).not.toHaveBeenCalled();
    expect(screen.queryByRole("link")).not.toBeInTheDocument();
  });
});
