import { useId, useRef, useState } from "react";
import type { Api, Created, Policy, ProviderName } from "../api/client";
import { ApiError, newIdempotencyKey } from "../api/client";
import { describeError } from "../messages";
import { providerLabel, widerReachNote } from "../providers";
import { AvailabilityField } from "./AvailabilityField";
import { Suggestions } from "./Suggestions";

type State =
  | { kind: "editing" }
  | { kind: "creating" }
  | { kind: "failed"; message: string; suggestions: string[] };

/**
 * Pick a free address (on one of the offered domains, at one of the offered
 * providers, as the policy says) and create it; `onCreated` shows its
 * credentials, `onFailed` hears of a create that failed (it may have created
 * the address all the same, when no usable answer came back).
 */
export function CreatePanel({
  api,
  policy,
  onCreated,
  onFailed,
}: {
  api: Api;
  policy: Policy | null;
  onCreated: (created: Created) => void;
  onFailed?: () => void;
}) {
  const ids = { displayName: useId(), provider: useId(), limit: useId(), reach: useId() };
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [chosenDomain, setChosenDomain] = useState<string | undefined>();
  const [provider, setProvider] = useState<ProviderName | "">("");
  const [state, setState] = useState<State>({ kind: "editing" });
  const usernameInput = useRef<HTMLInputElement>(null);

  const domains = policy?.domains ?? [];
  const domain = chosenDomain ?? domains[0]?.domain;
  // Named in requests only where there is a choice: otherwise the server's default.
  const requestedDomain = domains.length > 1 ? domain : undefined;
  const domainDefault = domains.find((offered) => offered.domain === domain)?.provider;
  // Where the create goes: the provider picked, else the domain's.
  const target = provider || domainDefault || policy?.providers[0];
  // Said before the button (and read with it) when that provider's credentials reach beyond this address.
  const reach = policy && target ? widerReachNote(policy, target) : null;
  const creating = state.kind === "creating";

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    if (creating || !username.trim()) return;
    setState({ kind: "creating" });
    try {
      const created = await api.create(
        {
          username: username.trim(),
          displayName: displayName.trim(),
          domain: requestedDomain,
          provider: provider || undefined,
        },
        newIdempotencyKey(),
      );
      setState({ kind: "editing" });
      setUsername("");
      setDisplayName("");
      onCreated(created);
    } catch (error) {
      setState({
        kind: "failed",
        message: describeError(error, "create"),
        suggestions: error instanceof ApiError ? error.suggestions : [],
      });
      onFailed?.();
    }
  }

  const domainAddon =
    domains.length > 1 ? (
      <select
        aria-label="Domain"
        value={domain}
        onChange={(event) => setChosenDomain(event.target.value)}
      >
        {domains.map(({ domain }) => (
          <option key={domain} value={domain}>
            @{domain}
          </option>
        ))}
      </select>
    ) : domain ? (
      <span className="domain carries-address">@{domain}</span>
    ) : null;

  return (
    <section aria-labelledby="create-title" className="card create">
      <h2 id="create-title">New address</h2>
      <form onSubmit={submit} aria-busy={creating} aria-describedby={policy ? ids.limit : undefined}>
        <AvailabilityField
          api={api}
          value={username}
          domain={requestedDomain}
          onChange={setUsername}
          addon={domainAddon}
          inputRef={usernameInput}
        />
        <label htmlFor={ids.displayName}>Display name (optional)</label>
        <input
          id={ids.displayName}
          value={displayName}
          maxLength={64}
          onChange={(event) => setDisplayName(event.target.value)}
        />
        {policy && policy.providers.length > 1 && (
          <>
            <label htmlFor={ids.provider}>Provider</label>
            <select
              id={ids.provider}
              value={provider}
              // The options are the policy's providers, and "" for the domain's.
              onChange={(event) => setProvider(event.target.value as ProviderName | "")}
            >
              <option value="">
                The domain&apos;s ({providerLabel(domainDefault ?? policy.providers[0])})
              </option>
              {policy.providers.map((name) => (
                <option key={name} value={name}>
                  {providerLabel(name)}
                </option>
              ))}
            </select>
          </>
        )}
        {policy && (
          <p id={ids.limit} className="hint">
            Up to {policy.daily_create_limit} new addresses a day.
          </p>
        )}
        {reach && (
          <p id={ids.reach} className="notice">
            {reach}
          </p>
        )}
        <button
          type="submit"
          aria-disabled={creating || !username.trim()}
          aria-describedby={reach ? ids.reach : undefined}
        >
          {creating ? "Creating…" : "Create address"}
        </button>
      </form>
      {state.kind === "failed" && (
        <div className="refusal">
          <p role="alert" className="carries-address">
            {state.message}
          </p>
          <Suggestions
            suggestions={state.suggestions}
            onPick={(picked) => {
              setUsername(picked);
              setState({ kind: "editing" });
              usernameInput.current?.focus();
            }}
          />
        </div>
      )}
    </section>
  );
}
