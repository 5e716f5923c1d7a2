import { useEffect, useRef, useState } from "react";
import type { Account, Api, Created } from "../api/client";
import { newIdempotencyKey } from "../api/client";
import { describeError } from "../messages";
import { providerLabel } from "../providers";
import { ActionButton } from "./ActionButton";
import { LabelWithContext } from "./LabelWithContext";

type Busy = { email: string; action: string } | null;

export const STATUS_LABELS: Record<Account["status"], string> = {
  active: "Active",
  disabled: "Disabled (not sending)",
  pending: "Being created",
  suspended: "Suspended (not sending)",
};

type Suspension = NonNullable<Account["suspension"]>;

const SUSPENSION_REASONS: Record<Suspension["reason"], string> = {
  send_limit: "it sent as many messages today as one address may",
  bounce_rate: "too many of its messages bounced over the last 7 days",
  complaint_rate: "too many recipients marked its messages as spam over the last 7 days",
};

/** Why an address is suspended and what lifts it, as its card says. */
export function suspensionSentence(suspension: Suspension): string {
  const why = `Sending is stopped: ${SUSPENSION_REASONS[suspension.reason]}.`;
  switch (suspension.lifted_by) {
    case "next_utc_day":
      return `${why} It restarts by itself ${suspension.lifts_at ? `at ${moment(suspension.lifts_at)}` : "at midnight UTC"}, or when an administrator enables it.`;
    case "owner_after_rotation":
      return `${why} Rotate its credentials (the old password may have leaked), then enable it; an administrator can too.`;
    case "administrator":
      return `${why} Only an administrator can enable it again, once the cause is found.`;
  }
}

/**
 * The caller's addresses with their statistics, and what can be done to
 * each; `onRotated` shows a rotation's new credentials, `onRemoved` says
 * an address is gone (with any credentials of it still on show).
 */
export function AccountsList({
  api,
  accounts,
  quarantineDays,
  onChanged,
  onRotated,
  onRemoved,
}: {
  api: Api;
  accounts: Account[];
  /** How long a deleted address stays unavailable, as the policy says. */
  quarantineDays?: number;
  onChanged: () => void;
  onRotated: (rotated: Created) => void;
  onRemoved: (email: string) => void;
}) {
  const [busy, setBusy] = useState<Busy>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [done, setDone] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  const deleteButtons = useRef(new Map<string, HTMLButtonElement>());

  async function act(email: string, action: string, run: () => Promise<string | void>) {
    if (busy) return;
    setBusy({ email, action });
    setMessage(null);
    setDone("");
    try {
      setDone((await run()) ?? "");
    } catch (error) {
      setMessage(describeError(error, action === "rotate" ? "rotate" : "change"));
    } finally {
      onChanged();
      setBusy(null);
    }
  }

  function rotate(email: string) {
    return act(email, "rotate", async () => {
      onRotated(await api.rotate(email, newIdempotencyKey()));
    });
  }

  function setSending(account: Account) {
    const allowed = account.status !== "active";
    return act(account.email, "sending", async () => {
      await api.setSending(account.email, allowed);
      return allowed
        ? `${account.email} sends again, with the same credentials.`
        : `${account.email} is disabled: it cannot send until you enable it.`;
    });
  }

  function remove(email: string) {
    setConfirming(null);
    return act(email, "delete", async () => {
      const deleted = await api.remove(email);
      onRemoved(email);
      heading.current?.focus();
      return `${email} is deleted. Nobody can create it again before ${day(deleted.available_again_at)}.`;
    });
  }

  function cancelDelete(email: string) {
    setConfirming(null);
    deleteButtons.current.get(email)?.focus();
  }

  const quarantine =
    quarantineDays === undefined
      ? "for its quarantine period"
      : quarantineDays === 0
        ? "for no time at all (no quarantine here)"
        : `for ${quarantineDays} day${quarantineDays === 1 ? "" : "s"} (quarantine)`;

  return (
    <section aria-labelledby="accounts-title" className="accounts-section">
      <h2 id="accounts-title" ref={heading} tabIndex={-1}>
        Your addresses
      </h2>
      {message && (
        <p role="alert" className="carries-address">
          {message}
        </p>
      )}
      <p role="status" className="done carries-address">
        {done}
      </p>
      {accounts.length === 0 ? (
        <p>You have no address yet.</p>
      ) : (
        <ul className="accounts">
          {accounts.map((account) => (
            <li key={account.email}>
              <article aria-labelledby={`account-${account.email}`} className="card account">
                <h3 id={`account-${account.email}`} className="carries-address">
                  {account.email}
                </h3>
                <p className="display-name">{account.display_name}</p>
                <AccountFacts account={account} />
                <div className="actions">
                  <ActionButton
                    unavailable={busy !== null || (account.status !== "active" && account.status !== "suspended")}
                    onPress={() => void rotate(account.email)}
                  >
                    <LabelWithContext
                      visible={
                        busy?.email === account.email && busy.action === "rotate"
                          ? "Rotating credentials"
                          : "Rotate credentials"
                      }
                      context={`of ${account.email}`}
                    />
                  </ActionButton>
                  <ActionButton
                    unavailable={busy !== null || account.status === "pending"}
                    onPress={() => void setSending(account)}
                  >
                    <LabelWithContext
                      visible={account.status === "active" || account.status === "pending" ? "Disable" : "Enable"}
                      context={account.email}
                    />
                  </ActionButton>
                  <ActionButton
                    className="danger"
                    ref={(button) => {
                      if (button) deleteButtons.current.set(account.email, button);
                      else deleteButtons.current.delete(account.email);
                    }}
                    unavailable={busy !== null}
                    aria-expanded={confirming === account.email}
                    onPress={() => setConfirming(account.email)}
                  >
                    <LabelWithContext visible="Delete" context={account.email} />
                  </ActionButton>
                </div>
                {confirming === account.email && (
                  <DeleteConfirmation
                    email={account.email}
                    quarantine={quarantine}
                    onConfirm={() => void remove(account.email)}
                    onCancel={() => cancelDelete(account.email)}
                  />
                )}
              </article>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** One fact of an account's card; a wide one takes the card's whole width. */
type Fact = { label: string; value: React.ReactNode; wide?: boolean };

function AccountFacts({ account }: { account: Account }) {
  const facts: Fact[] = [
    { label: "Provider", value: providerLabel(account.provider) },
    {
      label: "Status",
      value: <span className={`status status-${account.status}`}>{STATUS_LABELS[account.status]}</span>,
    },
    { label: "Created", value: <time dateTime={account.created_at}>{day(account.created_at)}</time> },
    {
      label: "Sent today / this month",
      value: `${count(account.emails_sent_today)} / ${count(account.emails_sent_month)}`,
    },
    {
      label: "Bounces / complaints this month",
      value: `${count(account.bounces_month)} / ${count(account.complaints_month)}`,
    },
  ];
  if (account.suspension) {
    facts.push({ label: "Why it is suspended", value: suspensionSentence(account.suspension), wide: true });
  }
  if (account.smtp_server) {
    facts.push({
      label: "SMTP",
      value: `${account.smtp_server}:${account.smtp_port ?? 587}, user ${account.smtp_username ?? "—"}`,
      wide: true,
    });
  }
  return (
    <>
      <dl className="facts">
        {facts.map(({ label, value, wide }) => (
          <div key={label} className={wide ? "wide" : undefined}>
            <dt>{label}</dt>
            <dd className="carries-address">{value}</dd>
          </div>
        ))}
      </dl>
      {!account.guard_rails.enforced && account.guard_rails.why_not && (
        <p className="reason">No sending limits are watched for this address: {account.guard_rails.why_not}.</p>
      )}
      {account.stats_unavailable_reason && (
        <p className="reason">No figures from this provider: {account.stats_unavailable_reason}.</p>
      )}
    </>
  );
}

/** Asks before a delete, naming the address and the quarantine; Escape keeps it. */
function DeleteConfirmation({
  email,
  quarantine,
  onConfirm,
  onCancel,
}: {
  email: string;
  quarantine: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  return (
    <div
      role="group"
      aria-label={`Confirm deleting ${email}`}
      className="confirmation"
      onKeyDown={(event) => {
        if (event.key === "Escape") onCancel();
      }}
    >
      <p className="carries-address">
        Delete {email}? It is removed at the provider and its password is deleted; the address
        stays unavailable to anyone {quarantine}.
      </p>
      <button type="button" className="danger carries-address" onClick={onConfirm}>
        Yes, delete {email}
      </button>
      <button type="button" ref={keep} onClick={onCancel}>
        Keep it
      </button>
    </div>
  );
}

/** A counter the provider reports, or a dash where it cannot. */
function count(value: number | null): string {
  return value === null ? "—" : String(value);
}

/** A timestamp's UTC day, as the API counts days. */
function day(timestamp: string): string {
  return timestamp.slice(0, 10);
}

/** A UTC instant as people read it: day and time. */
function moment(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
