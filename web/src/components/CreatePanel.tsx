import { useEffect, useRef, useState } from "react";
import type { Api, Created } from "../api/client";
import { newIdempotencyKey } from "../api/client";
import { describeError } from "../messages";
import { AvailabilityField } from "./AvailabilityField";
import { CredentialsCard } from "./CredentialsCard";

type State =
  | { kind: "editing" }
  | { kind: "creating" }
  | { kind: "created"; created: Created }
  | { kind: "failed"; message: string };

/** Pick a free address, create it, see its credentials once. */
export function CreatePanel({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [state, setState] = useState<State>({ kind: "editing" });
  const credentialsHeading = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (state.kind === "created") credentialsHeading.current?.querySelector("h2")?.focus();
  }, [state]);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setState({ kind: "creating" });
    try {
      const created = await api.create(username.trim(), displayName.trim(), newIdempotencyKey());
      setState({ kind: "created", created });
      onCreated();
    } catch (error) {
      setState({ kind: "failed", message: describeError(error) });
    }
  }

  const creating = state.kind === "creating";
  return (
    <section aria-labelledby="create-title">
      <h2 id="create-title">New address</h2>
      <form onSubmit={submit} aria-busy={creating}>
        <AvailabilityField api={api} value={username} onChange={setUsername} />
        <label htmlFor="display-name">Display name (optional)</label>
        <input
          id="display-name"
          value={displayName}
          onChange={(event) => setDisplayName(event.target.value)}
        />
        <button type="submit" disabled={creating || !username.trim()}>
          {creating ? "Creating…" : "Create address"}
        </button>
      </form>
      {state.kind === "failed" && <p role="alert">{state.message}</p>}
      {state.kind === "created" && (
        <div ref={credentialsHeading}>
          <CredentialsCard created={state.created} />
        </div>
      )}
    </section>
  );
}
