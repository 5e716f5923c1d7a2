import { useState } from "react";
import type { Account, Api, Created } from "../api/client";
import { newIdempotencyKey } from "../api/client";
import { describeError } from "../messages";
import { CredentialsCard } from "./CredentialsCard";

/** How long a deleted address stays unavailable (ADDRESS_QUARANTINE_DAYS' default). */
const QUARANTINE_DAYS = 30;

type Busy = { email: string; action: string } | null;

/** The caller's addresses with their statistics, and what can be done to each. */
export function AccountsList({
  api,
  accounts,
  onChanged,
}: {
  api: Api;
  accounts: Account[];
  onChanged: () => void;
}) {
  const [busy, setBusy] = useState<Busy>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [rotated, setRotated] = useState<Created | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  async function act(email: string, action: string, run: () => Promise<unknown>) {
    setBusy({ email, action });
    setMessage(null);
    try {
      await run();
      onChanged();
    } catch (error) {
      setMessage(describeError(error));
    } finally {
      setBusy(null);
    }
  }

  if (accounts.length === 0) return <p>You have no address yet.</p>;
  return (
    <section aria-labelledby="accounts-title">
      <h2 id="accounts-title">Your addresses</h2>
      {message && <p role="alert">{message}</p>}
      {rotated && <CredentialsCard created={rotated} />}
      <table>
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Provider</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Sent today / this month</th>
            <th scope="col">Bounces / complaints (month)</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((account) => (
            <tr key={account.email}>
              <th scope="row">{account.email}</th>
              <td>{account.provider}</td>
              <td>{account.status}</td>
              <td>{account.created_at.slice(0, 10)}</td>
              <td>
                {count(account.emails_sent_today)} / {count(account.emails_sent_month)}
                {account.stats_unavailable_reason && (
                  <small className="reason"> ({account.stats_unavailable_reason})</small>
                )}
              </td>
              <td>
                {count(account.bounces_month)} / {count(account.complaints_month)}
              </td>
              <td>
                <button
                  type="button"
                  disabled={busy !== null}
                  onClick={() =>
                    act(account.email, "rotate", async () =>
                      setRotated(await api.rotate(account.email, newIdempotencyKey())),
                    )
                  }
                >
                  Rotate credentials of {account.email}
                </button>
                <button
                  type="button"
                  disabled={busy !== null}
                  onClick={() =>
                    act(account.email, "sending", () =>
                      api.setSending(account.email, account.status === "disabled"),
                    )
                  }
                >
                  {account.status === "disabled" ? "Enable" : "Disable"} {account.email}
                </button>
                {confirming === account.email ? (
                  <span role="group" aria-label={`Confirm deleting ${account.email}`}>
                    <span>
                      Delete {account.email}? It is removed at the provider and its password is
                      deleted; the address stays unavailable to anyone for {QUARANTINE_DAYS} days
                      (quarantine).
                    </span>
                    <button
                      type="button"
                      onClick={() => {
                        setConfirming(null);
                        void act(account.email, "delete", () => api.remove(account.email));
                      }}
                    >
                      Yes, delete {account.email}
                    </button>
                    <button type="button" onClick={() => setConfirming(null)}>
                      Keep it
                    </button>
                  </span>
                ) : (
                  <button
                    type="button"
                    disabled={busy !== null}
                    onClick={() => setConfirming(account.email)}
                  >
                    Delete {account.email}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A counter the provider reports, or a dash where it cannot. */
function count(value: number | null): string {
  return value === null ? "—" : String(value);
}
