import { useCallback, useEffect, useRef, useState } from "react";
import type { ReactNode } from "react";
import type { AdminAccount, AdminAccountFilter, Api, Policy, Transferred } from "../../api/client";
import { ApiError } from "../../api/client";
import { describeError } from "../../messages";
import { providerLabel } from "../../providers";
import { ActionButton } from "../ActionButton";
import { STATUS_LABELS, suspensionSentence } from "../AccountsList";
import { LabelWithContext } from "../LabelWithContext";
import { Confirmation } from "./Confirmation";
import { usePages } from "./usePages";
import { ALL_PROVIDERS, day } from "./format";

const NO_FILTER: Required<AdminAccountFilter> = { owner: "", domain: "", provider: "", status: "", q: "" };

/** What `q` may hold, as the API checks it. */
const ADDRESS_PART = /^[A-Za-z0-9._+@-]{1,64}$/;

/** A user id as the API takes it: something, without spaces. */
export function userIdProblem(value: string, what: string): string | null {
  if (!value) return `Enter the ${what}.`;
  if (/\s/.test(value)) return `The ${what} has no spaces: check it.`;
  return null;
}

/**
 * Every address with its owner (administrators only): filters, pages by
 * cursor, and per address a transfer to another owner behind a
 * confirmation. `credentials` (a transfer's new ones, shown once) sits
 * above the list; `onTransferred` shows them and refreshes the rest.
 */
export function AdminAccounts({
  api,
  policy,
  credentials,
  reloadSignal,
  onTransferred,
}: {
  api: Api;
  policy: Policy | null;
  credentials?: ReactNode;
  /** Changes when addresses changed hands (a transfer here, an off-boarding): the list is read again. */
  reloadSignal: number;
  onTransferred: (transferred: Transferred) => void;
}) {
  const [draft, setDraft] = useState(NO_FILTER);
  const [applied, setApplied] = useState<AdminAccountFilter>({});
  const [done, setDone] = useState("");
  const [transferring, setTransferring] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const transferButtons = useRef(new Map<string, HTMLButtonElement>());
  const fetchPage = useCallback(
    (filter: AdminAccountFilter, after?: string) =>
      api.adminAccounts(filter, after).then((page) => ({ ...page, items: page.accounts })),
    [api],
  );
  const {
    items: accounts,
    problem,
    setProblem,
    reload,
    more,
  } = usePages(fetchPage, applied, reloadSignal);

  function filter(event: React.FormEvent) {
    event.preventDefault();
    const q = draft.q.trim();
    if (q && !ADDRESS_PART.test(q)) {
      setProblem("Part of the address may hold only letters, digits and . _ + - @ (at most 64).");
      return;
    }
    setDone("");
    setApplied({ ...draft, owner: draft.owner.trim(), q });
  }

  function clear() {
    setDraft(NO_FILTER);
    setDone("");
    setApplied({});
  }

  function closeTransfer(email: string) {
    setTransferring(null);
    transferButtons.current.get(email)?.focus();
  }

  function transferred(result: Transferred) {
    const { email, owner } = result.account;
    setTransferring(null);
    // The card may leave the list (filtered by owner): the focus goes to the section, and from the credentials back to it.
    heading.current?.focus();
    setDone(
      `${email} is now ${owner}'s (it was ${result.previous_owner}'s)` +
        (result.credentials ? ": its new credentials are shown once, below." : ", with the same credentials."),
    );
    // The view reads every section again (reloadSignal), this list among them.
    onTransferred(result);
  }

  const [resuming, setResuming] = useState<string | null>(null);

  /** An administrator lifts a suspension: the address sends again. */
  async function resume(email: string) {
    setResuming(email);
    setDone("");
    try {
      await api.setSending(email, true);
      setDone(`${email} sends again: its suspension is lifted, and its guard rails count afresh from tomorrow (UTC).`);
    } catch (error) {
      setProblem(describeError(error, "change"));
    } finally {
      setResuming(null);
      reload();
    }
  }

  function failed(error: unknown) {
    // Gone (deleted elsewhere) or already moved: the list says how things are now.
    if (error instanceof ApiError && (error.code === "account_not_found" || error.code === "already_owner")) {
      reload();
    }
  }

  const set = (name: keyof AdminAccountFilter) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft((shown) => ({ ...shown, [name]: event.target.value }));
  const filtered = Object.values(applied).some(Boolean);

  return (
    <section aria-labelledby="admin-accounts-title" className="admin-section">
      <h2 id="admin-accounts-title" ref={heading} tabIndex={-1}>
        Every address
      </h2>
      <form className="filters" aria-label="Filter the addresses" onSubmit={filter}>
        <div>
          <label htmlFor="admin-owner">Owner (user id)</label>
          <input id="admin-owner" value={draft.owner} onChange={set("owner")} autoComplete="off" spellCheck={false} />
        </div>
        <div>
          <label htmlFor="admin-q">Part of the address</label>
          <input id="admin-q" value={draft.q} onChange={set("q")} autoComplete="off" spellCheck={false} />
        </div>
        <div>
          <label htmlFor="admin-domain">Domain</label>
          <select id="admin-domain" value={draft.domain} onChange={set("domain")}>
            <option value="">Any domain</option>
            {(policy?.domains ?? []).map(({ domain }) => (
              <option key={domain} value={domain}>
                {domain}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="admin-provider">Provider</label>
          <select id="admin-provider" value={draft.provider} onChange={set("provider")}>
            <option value="">Any provider</option>
            {ALL_PROVIDERS.map((name) => (
              <option key={name} value={name}>
                {providerLabel(name)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="admin-status">Status</label>
          <select id="admin-status" value={draft.status} onChange={set("status")}>
            <option value="">Any status</option>
            {(Object.keys(STATUS_LABELS) as (keyof typeof STATUS_LABELS)[]).map((status) => (
              <option key={status} value={status}>
                {STATUS_LABELS[status]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter-actions">
          <button type="submit">Filter the addresses</button>
          <button type="button" onClick={clear}>
            Clear the filters
          </button>
        </div>
      </form>
      {problem && (
        <p role="alert" className="carries-address">
          {problem}
        </p>
      )}
      <p role="status" className="done carries-address">
        {done}
      </p>
      {credentials}
      {accounts === null ? (
        <p>Loading the addresses…</p>
      ) : accounts.length === 0 ? (
        <p>{filtered ? "No address matches these filters." : "There is no address yet."}</p>
      ) : (
        <ul className="accounts admin-accounts" aria-label="Addresses">
          {accounts.map((account) => (
            <li key={account.email}>
              <article aria-labelledby={`admin-account-${account.email}`} className="card account">
                <h3 id={`admin-account-${account.email}`} className="carries-address">
                  {account.email}
                </h3>
                <p className="display-name carries-address">{account.display_name}</p>
                <dl className="facts">
                  <div>
                    <dt>Owner</dt>
                    <dd className="carries-address">{account.owner}</dd>
                  </div>
                  <div>
                    <dt>Provider</dt>
                    <dd>{providerLabel(account.provider)}</dd>
                  </div>
                  <div>
                    <dt>Status</dt>
                    <dd>
                      <span className={`status status-${account.status}`}>{STATUS_LABELS[account.status]}</span>
                    </dd>
                  </div>
                  <div>
                    <dt>Created</dt>
                    <dd>
                      <time dateTime={account.created_at}>{day(account.created_at)}</time>
                    </dd>
                  </div>
                  {account.suspension && (
                    <div className="wide">
                      <dt>Why it is suspended</dt>
                      <dd>{suspensionSentence(account.suspension)}</dd>
                    </div>
                  )}
                </dl>
                <div className="actions">
                  {account.status === "suspended" && (
                    <ActionButton unavailable={resuming !== null} onPress={() => void resume(account.email)}>
                      <LabelWithContext
                        visible={resuming === account.email ? "Resuming sending" : "Resume sending"}
                        context={`of ${account.email}`}
                      />
                    </ActionButton>
                  )}
                  <ActionButton
                    ref={(button) => {
                      if (button) transferButtons.current.set(account.email, button);
                      else transferButtons.current.delete(account.email);
                    }}
                    unavailable={account.status === "pending" || (transferring !== null && transferring !== account.email)}
                    aria-expanded={transferring === account.email}
                    onPress={() => setTransferring(transferring === account.email ? null : account.email)}
                  >
                    <LabelWithContext visible="Transfer…" context={account.email} />
                  </ActionButton>
                </div>
                {transferring === account.email && (
                  <TransferForm
                    api={api}
                    account={account}
                    onCancel={() => closeTransfer(account.email)}
                    onTransferred={transferred}
                    onFailed={failed}
                  />
                )}
              </article>
            </li>
          ))}
        </ul>
      )}
      {accounts && more && (
        <button type="button" className="more" onClick={more}>
          Show more addresses
        </button>
      )}
    </section>
  );
}

/**
 * A transfer of one address: the new owner and whether it gets new
 * credentials, then a confirmation that names who gets what.
 */
function TransferForm({
  api,
  account,
  onCancel,
  onTransferred,
  onFailed,
}: {
  api: Api;
  account: AdminAccount;
  onCancel: () => void;
  onTransferred: (transferred: Transferred) => void;
  onFailed: (error: unknown) => void;
}) {
  const [owner, setOwner] = useState("");
  const [rotate, setRotate] = useState(true);
  const [stage, setStage] = useState<"form" | "confirm" | "busy">("form");
  const [problem, setProblem] = useState<string | null>(null);
  const ownerInput = useRef<HTMLInputElement>(null);
  const { email } = account;
  const to = owner.trim();
  const ids = `transfer-${email}`;

  useEffect(() => {
    if (stage === "form") ownerInput.current?.focus();
  }, [stage]);

  function review(event: React.FormEvent) {
    event.preventDefault();
    const wrong =
      userIdProblem(to, "new owner's user id") ??
      (to === account.owner ? `${email} is already ${to}'s: name someone else.` : null);
    setProblem(wrong);
    if (wrong) ownerInput.current?.focus();
    else setStage("confirm");
  }

  async function transfer() {
    if (stage === "busy") return;
    setStage("busy");
    try {
      onTransferred(await api.transfer(email, to, rotate));
    } catch (error) {
      setProblem(describeError(error, "transfer"));
      setStage("form");
      onFailed(error);
    }
  }

  const question = rotate
    ? `Give ${email} to ${to}, with new credentials? ${account.owner} will no longer see it, and the credentials in use now stop working; the new ones are shown here once.`
    : `Give ${email} to ${to}, with the same credentials? ${account.owner} will no longer see it, but whoever has its credentials now can still send with them.`;

  return (
    <div className="transfer">
      {problem && (
        <p role="alert" className="carries-address">
          {problem}
        </p>
      )}
      {stage === "form" ? (
        <form
          aria-label={`Transfer ${email}`}
          onSubmit={review}
          onKeyDown={(event) => {
            if (event.key === "Escape") onCancel();
          }}
        >
          <label htmlFor={`${ids}-owner`}>New owner's user id</label>
          <input
            id={`${ids}-owner`}
            ref={ownerInput}
            value={owner}
            onChange={(event) => setOwner(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={`${ids}-hint`}
          />
          <p id={`${ids}-hint`} className="hint carries-address">
            Now {account.owner}'s. A user id is the subject (sub) their sign-in token names.
          </p>
          <div className="check">
            <input
              type="checkbox"
              id={`${ids}-rotate`}
              checked={rotate}
              onChange={(event) => setRotate(event.target.checked)}
            />
            <label htmlFor={`${ids}-rotate`}>Give it new credentials (the old ones stop working)</label>
          </div>
          <div className="actions">
            <button type="submit" className="carries-address">
              Review the transfer
            </button>
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <Confirmation
          label={`Confirm transferring ${email}`}
          question={question}
          confirm={stage === "busy" ? `Giving ${email} to ${to}…` : `Yes, give ${email} to ${to}`}
          cancel="Don't transfer"
          busy={stage === "busy"}
          onConfirm={() => void transfer()}
          onCancel={onCancel}
        />
      )}
    </div>
  );
}
