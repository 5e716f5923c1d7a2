import { useEffect, useId, useRef, useState } from "react";
import type { Api, Availability } from "../api/client";
import { describeError } from "../messages";

type Result =
  | { kind: "idle" }
  | { kind: "checking" }
  | { kind: "answered"; availability: Availability }
  | { kind: "refused"; message: string };

const REASONS: Record<string, string> = {
  taken: "is already taken",
  reserved: "is reserved",
  quarantined: "was deleted lately and is not available yet",
};

/**
 * The username input: each pause in typing checks the address (earlier
 * answers that arrive late are ignored), and a taken or reserved one offers
 * the free suggestions as one-click choices.
 */
export function AvailabilityField({
  api,
  value,
  onChange,
  debounceMs = 300,
}: {
  api: Pick<Api, "check">;
  value: string;
  onChange: (username: string) => void;
  debounceMs?: number;
}) {
  const inputId = useId();
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
        .check(username, controller.signal)
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
  }, [api, value, debounceMs]);

  return (
    <div className="availability">
      <label htmlFor={inputId}>Username</label>
      <input
        id={inputId}
        name="username"
        autoComplete="off"
        value={value}
        onChange={(event) => onChange(event.target.value)}
      />
      <p role="status" aria-live="polite" className="availability-result">
        {statusText(result)}
      </p>
      {result.kind === "answered" && result.availability.suggestions.length > 0 && (
        <ul aria-label="Free alternatives" className="suggestions">
          {result.availability.suggestions.map((suggestion) => (
            <li key={suggestion}>
              <button type="button" onClick={() => onChange(suggestion.split("@")[0])}>
                Use {suggestion}
              </button>
            </li>
          ))}
        </ul>
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
