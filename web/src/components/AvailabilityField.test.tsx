import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Availability } from "../api/client";
import { ApiError } from "../api/client";
import { AvailabilityField } from "./AvailabilityField";

type Check = (username: string, domain: string | undefined, signal?: AbortSignal) => Promise<Availability>;

function Harness({ check, domain }: { check: Check; domain?: string }) {
  const [value, setValue] = useState("");
  return <AvailabilityField api={{ check }} value={value} domain={domain} onChange={setValue} debounceMs={300} />;
}

const free = (username: string, domain = "example.com"): Availability => ({
  email: `${username}@${domain}`,
  available: true,
  suggestions: [],
});

describe("AvailabilityField", () => {
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(() => vi.useRealTimers());

  it("checks once the typing pauses, not at every key", async () => {
    const check = vi.fn(async (username: string) => free(username));
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(check).toHaveBeenCalledTimes(1);
    expect(check.mock.calls[0][0]).toBe("contact");
    expect(screen.getByRole("status")).toHaveTextContent("contact@example.com is available.");
  });

  it("ignores an earlier answer that arrives after a later one", async () => {
    const answers: Record<string, (value: Availability) => void> = {};
    const check = vi.fn(
      (username: string) => new Promise<Availability>((resolve) => (answers[username] = resolve)),
    );
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    const input = screen.getByLabelText("Username");
    await user.type(input, "ab");
    await act(() => vi.advanceTimersByTimeAsync(400));
    await user.type(input, "c");
    await act(() => vi.advanceTimersByTimeAsync(400));
    await act(async () => answers["abc"](free("abc")));
    await act(async () => answers["ab"]({ email: "ab@example.com", available: false, reason: "taken", suggestions: [] }));
    expect(screen.getByRole("status")).toHaveTextContent("abc@example.com is available.");
  });

  it("shows the rule a refused username breaks", async () => {
    const check = vi.fn(async () => {
      throw new ApiError(422, "invalid_username", "a username is at most 64 characters");
    });
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    await user.type(screen.getByLabelText("Username"), "x");
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(screen.getByRole("status")).toHaveTextContent("a username is at most 64 characters");
  });

  it("offers the suggestions of a taken name as one-click choices", async () => {
    const check = vi.fn(async (username: string): Promise<Availability> =>
      username === "contact"
        ? { email: "contact@example.com", available: false, reason: "taken", suggestions: ["contact-team@example.com"] }
        : free(username),
    );
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    await user.type(screen.getByLabelText("Username"), "contact");
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(screen.getByRole("status")).toHaveTextContent("contact@example.com is already taken.");
    await user.click(screen.getByRole("button", { name: "Use contact-team@example.com" }));
    expect(screen.getByLabelText("Username")).toHaveValue("contact-team");
    // The chosen button is gone with its answer: the focus is back in the input.
    expect(screen.getByLabelText("Username")).toHaveFocus();
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(screen.getByRole("status")).toHaveTextContent("contact-team@example.com is available.");
  });

  it.each([
    ["exists", "sales@example.com already exists in the company's directory (as a mailbox, alias or group)."],
    ["lookalike", "sales@example.com looks too much like a reserved or taken address."],
  ] as const)("says why a name the answer calls %s is not free, and offers its suggestions", async (reason, sentence) => {
    const check = vi.fn(async (): Promise<Availability> => ({
      email: "sales@example.com",
      available: false,
      reason,
      suggestions: ["sales-team@example.com"],
    }));
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    await user.type(screen.getByLabelText("Username"), "sales");
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(screen.getByRole("status")).toHaveTextContent(sentence);
    expect(screen.getByRole("button", { name: "Use sales-team@example.com" })).toBeInTheDocument();
  });

  it("checks on the chosen domain", async () => {
    const check = vi.fn(async (username: string, domain?: string) => free(username, domain));
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} domain="support.example.com" />);
    await user.type(screen.getByLabelText("Username"), "help");
    await act(() => vi.advanceTimersByTimeAsync(400));
    expect(check.mock.calls[0].slice(0, 2)).toEqual(["help", "support.example.com"]);
    expect(screen.getByRole("status")).toHaveTextContent("help@support.example.com is available.");
  });

  it("lets the answer's long dotted address wrap, not widen the page", async () => {
    const check = vi.fn(async (username: string): Promise<Availability> => ({
      email: `${username}@example.com`,
      available: false,
      reason: "taken",
      suggestions: [`${username}-team@example.com`],
    }));
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    render(<Harness check={check} />);
    await user.type(screen.getByLabelText("Username"), "kundenservice.zahlungsverkehr");
    await act(() => vi.advanceTimersByTimeAsync(400));
    const status = screen.getByRole("status");
    expect(status).toHaveTextContent("kundenservice.zahlungsverkehr@example.com is already taken.");
    expect(status).toHaveClass("carries-address");
    expect(screen.getByRole("button", { name: "Use kundenservice.zahlungsverkehr-team@example.com" })).toHaveClass(
      "carries-address",
    );
  });
});
