import { useCallback, useState } from "react";
import type { Api, AuditAction, AuditFilter } from "../../api/client";
import { AUDIT_CSV_LIMIT } from "../../api/client";
import { describeError } from "../../messages";
import { ActionButton } from "../ActionButton";
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, moment, saveFile } from "./format";
import { TableRegion } from "./TableRegion";
import { usePages } from "./usePages";

const NO_FILTER: Required<AuditFilter> = { address: "", actor: "", owner: "", action: "", from: "", to: "" };

/**
 * The audit trail, newest first: filters, a table of the entries, "Show
 * more" by cursor, and the same entries as a CSV file.
 */
export function AuditTrail({ api, reloadSignal }: { api: Api; reloadSignal: number }) {
  const [draft, setDraft] = useState(NO_FILTER);
  const [applied, setApplied] = useState<AuditFilter>({});
  const [downloading, setDownloading] = useState(false);
  const [done, setDone] = useState("");
  const fetchPage = useCallback(
    (filter: AuditFilter, after?: string) =>
      api.audit(filter, after).then((page) => ({ ...page, items: page.entries })),
    [api],
  );
  const { items: entries, problem, setProblem, more } = usePages(fetchPage, applied, reloadSignal);

  function filter(event: React.FormEvent) {
    event.preventDefault();
    if (draft.from && draft.to && draft.from > draft.to) {
      setProblem("The first day comes after the last: swap them.");
      return;
    }
    setDone("");
    setApplied({ ...draft, address: draft.address.trim(), actor: draft.actor.trim(), owner: draft.owner.trim() });
  }

  async function download() {
    if (downloading) return;
    setDownloading(true);
    setDone("");
    try {
      saveFile(await api.auditCsv(applied), "audit.csv");
      setDone(`Saved audit.csv: the newest ${AUDIT_CSV_LIMIT} entries at most, with the filters of the table.`);
      setProblem(null);
    } catch (error) {
      setProblem(describeError(error, "admin"));
    } finally {
      setDownloading(false);
    }
  }

  const set = (name: keyof AuditFilter) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft((shown) => ({ ...shown, [name]: event.target.value }));
  const filtered = Object.values(applied).some(Boolean);

  return (
    <section aria-labelledby="audit-title" className="admin-section wide-section">
      <h2 id="audit-title">Audit trail</h2>
      <form className="filters" aria-label="Filter the audit trail" onSubmit={filter}>
        <div>
          <label htmlFor="audit-address">Address (all of it)</label>
          <input
            id="audit-address"
            inputMode="email"
            value={draft.address}
            onChange={set("address")}
            autoComplete="off"
            spellCheck={false}
          />
        </div>
        <div>
          <label htmlFor="audit-actor">Actor (who did it)</label>
          <input id="audit-actor" value={draft.actor} onChange={set("actor")} autoComplete="off" spellCheck={false} />
        </div>
        <div>
          <label htmlFor="audit-owner">Owner</label>
          <input id="audit-owner" value={draft.owner} onChange={set("owner")} autoComplete="off" spellCheck={false} />
        </div>
        <div>
          <label htmlFor="audit-action">Action</label>
          <select id="audit-action" value={draft.action} onChange={set("action")}>
            <option value="">Any action</option>
            {(Object.keys(AUDIT_ACTIONS) as AuditAction[]).map((action) => (
              <option key={action} value={action}>
                {AUDIT_ACTIONS[action]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="audit-from">From (UTC day)</label>
          <input id="audit-from" type="date" value={draft.from} onChange={set("from")} />
        </div>
        <div>
          <label htmlFor="audit-to">To (UTC day, included)</label>
          <input id="audit-to" type="date" value={draft.to} onChange={set("to")} />
        </div>
        <div className="filter-actions">
          <button type="submit">Show the entries</button>
          <ActionButton unavailable={downloading} onPress={() => void download()}>
            {downloading ? "Downloading CSV…" : "Download CSV"}
          </ActionButton>
        </div>
      </form>
      {problem && (
        <p role="alert" className="carries-address">
          {problem}
        </p>
      )}
      <p role="status" className="done">
        {done}
      </p>
      {entries === null ? (
        <p>Loading the audit trail…</p>
      ) : entries.length === 0 ? (
        <p>{filtered ? "No entry matches these filters." : "The audit trail is empty."}</p>
      ) : (
        <TableRegion label="Audit entries">
          <table className="audit-table">
            <caption className="visually-hidden">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Actor</th>
                <th scope="col">Owner</th>
                <th scope="col">New owner</th>
                <th scope="col">Address</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry, index) => (
                <tr key={`${entry.request_id}-${entry.at}-${entry.action}-${index}`}>
                  <td className="whole">
                    <time dateTime={entry.at}>{moment(entry.at)}</time>
                  </td>
                  <td>{AUDIT_ACTIONS[entry.action] ?? entry.action}</td>
                  <td>
                    {AUDIT_OUTCOMES[entry.outcome] ?? entry.outcome}
                    {entry.error && <span className="reason carries-address">: {entry.error}</span>}
                  </td>
                  <td className="carries-address">{entry.actor}</td>
                  <td className="carries-address">{entry.owner}</td>
                  <td className="carries-address">{entry.new_owner ?? "—"}</td>
                  <td className="carries-address">{entry.email}</td>
                  <td className="carries-address request-id">{entry.request_id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      {entries && more && (
        <button type="button" className="more" onClick={more}>
          Show more entries
        </button>
      )}
    </section>
  );
}
