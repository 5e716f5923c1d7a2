import type { ReactNode, RefObject } from "react";
import { useEffect, useId, useRef, useState } from "react";
import type { Api, Availability } from "../api/client";
import { describeError } from "../messages";
import { Suggestions } from "./Suggestions";

type Result =
  | { kind: "idle" }
  | { kind: "checking" }
  | { kind: "answered"; availability: Availability }
  | { kind: "refused"; message: string };

// Every reason the contract names: a new one fails the typecheck until it has its words.
const REASONS: Record<NonNullable<Availability["reason"]>, string> = {
  taken: "is already taken",
  reserved: "is reserved",
  quarantined: "was deleted lately and is not available yet",
  exists: "already exists in the company's directory (as a mailbox, alias or group)",
  lookalike: "looks too much like a reserved or taken address",
};

/**
 * The username input: each pause in typing checks the address on `domain`
 * (the default one when absent; earlier answers that arrive late are
 * ignored), and one that is not free offers the free suggestions as
 * one-click choices (a choice puts the focus back in the input, since its
 * button goes). `addon` sits after the input: the domain, or its picker.
 */
export function AvailabilityField({
  api,
  value,
  domain,
  onChange,
  addon,
  inputRef,
  debounceMs = 300,
}: {
  api: Pick<Api, "check">;
  value: string;
  domain?: string;
  onChange: (username: string) => void;
  addon?: ReactNode;
  /** The input, for a caller that moves the focus to it. */
  inputRef?: RefObject<HTMLInputElement | null>;
  debounceMs?: number;
}) {
  const inputId = useId();
  const ownInput = useRef<HTMLInputElement>(null);
  const input = inputRef ?? ownInput;
  const [result, setResult] = useState<Result>({ kind: "idle" });
  const latest = useRef(0);

  useEffect(() => {
    const username = value.trim();
    if (!username) {
      setResult({ kind: "idle" });
      return;
    }
    const request = ++latest.current;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setResult({ kind: "checking" });
      api
        .check(username, domain, controller.signal)
        .then((availability) => {
          if (request === latest.current) setResult({ kind: "answered", availability });
        })
        .catch((error: unknown) => {
          if (request !== latest.current || controller.signal.aborted) return;
          setResult({ kind: "refused", message: describeError(error) });
        });
    }, debounceMs);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, value, domain, debounceMs]);

  return (
    <div className="availability">
      <label htmlFor={inputId}>Username</label>
      <div className="address-input">
        <input
          id={inputId}
          ref={input}
          name="username"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
        {addon}
      </div>
      <p role="status" className={`availability-result carries-address ${outcome(result)}`}>
        {statusText(result)}
      </p>
      {result.kind === "answered" && (
        <Suggestions
          suggestions={result.availability.suggestions}
          onPick={(username) => {
            onChange(username);
            input.current?.focus();
          }}
        />
      )}
    </div>
  );
}

function statusText(result: Result): string {
  switch (result.kind) {
    case "idle":
      return "";
    case "checking":
      return "Checking…";
    case "refused":
      return result.message;
    case "answered": {
      const { email, available, reason } = result.availability;
      if (available) return `${email} is available.`;
      return `${email} ${REASONS[reason ?? "taken"] ?? "is not available"}.`;
    }
  }
}

/** The result's look: free, not free, or neither yet. */
function outcome(result: Result): string {
  if (result.kind === "refused") return "unavailable";
  if (result.kind !== "answered") return "";
  return result.availability.available ? "available" : "unavailable";
}
