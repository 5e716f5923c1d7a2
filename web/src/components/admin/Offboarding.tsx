import { useEffect, useRef, useState } from "react";
import type { Api, OffboardReport } from "../../api/client";
import { ApiError, newIdempotencyKey } from "../../api/client";
import { describeError } from "../../messages";
import { userIdProblem } from "./AdminAccounts";
import { Confirmation } from "./Confirmation";
import { OFFBOARD_OUTCOMES } from "./format";

/** One confirmed off-boarding: its key is sent again only when the panel retries this very request. */
interface Request {
  user: string;
  to: string;
  key: string;
}

/**
 * Off-boarding a leaver: every address of one user to another, each with
 * new credentials, behind a confirmation naming both; then the report,
 * address by address.
 */
export function Offboarding({ api, onDone }: { api: Api; onDone: (report: OffboardReport) => void }) {
  const [leaver, setLeaver] = useState("");
  const [heir, setHeir] = useState("");
  const [stage, setStage] = useState<"form" | "confirm" | "busy">("form");
  const [problem, setProblem] = useState<string | null>(null);
  /** A request that got no report (no answer, or "under way"): "try again" sends it with the same key. */
  const [unfinished, setUnfinished] = useState<Request | null>(null);
  const [report, setReport] = useState<OffboardReport | null>(null);
  const leaverInput = useRef<HTMLInputElement>(null);
  const reviewButton = useRef<HTMLButtonElement>(null);
  const retryButton = useRef<HTMLButtonElement>(null);
  const reportHeading = useRef<HTMLHeadingElement>(null);
  const focusAfter = useRef<"report" | "retry" | "leaver" | "review" | null>(null);

  useEffect(() => {
    const target = focusAfter.current;
    focusAfter.current = null;
    if (target === "report") reportHeading.current?.focus();
    else if (target === "retry") retryButton.current?.focus();
    else if (target === "leaver") leaverInput.current?.focus();
    else if (target === "review") reviewButton.current?.focus();
  });

  function review(event: React.FormEvent) {
    event.preventDefault();
    const user = leaver.trim();
    const to = heir.trim();
    const wrong =
      userIdProblem(user, "leaver's user id") ??
      userIdProblem(to, "heir's user id") ??
      (user === to ? "The leaver and the heir are the same user: name someone else to receive the addresses." : null);
    setProblem(wrong);
    if (wrong) leaverInput.current?.focus();
    else setStage("confirm");
  }

  /** Asks again for the same users, as a new off-boarding (a new key): after a report with failed or skipped addresses. */
  function again(user: string, to: string) {
    setLeaver(user);
    setHeir(to);
    setProblem(null);
    setStage("confirm");
  }

  async function run(request: Request) {
    setStage("busy");
    setProblem(null);
    setUnfinished(request);
    try {
      const answered = await api.offboard(request.user, request.to, request.key);
      setReport(answered);
      setUnfinished(null);
      focusAfter.current = "report";
      onDone(answered);
    } catch (error) {
      setProblem(describeError(error, "offboard"));
      // A refusal (the ids, the rights) moved nothing; without an answer, or while it runs, the same request may be sent again.
      const unsure = !(error instanceof ApiError) || error.status >= 500 || error.code === "request_in_progress";
      if (!unsure) setUnfinished(null);
      focusAfter.current = unsure ? "retry" : "leaver";
    } finally {
      setStage("form");
    }
  }

  const user = leaver.trim();
  const to = heir.trim();

  return (
    <section aria-labelledby="offboard-title" className="admin-section">
      <h2 id="offboard-title">Off-boarding</h2>
      <p className="hint">
        Moves every address of someone who leaves to someone else, each with new credentials, so the
        copies the leaver kept stop working.
      </p>
      {stage === "confirm" || stage === "busy" ? (
        <Confirmation
          label={`Confirm off-boarding ${user}`}
          question={`Move every address of ${user} to ${to} and give each new credentials? ${user} will no longer see them and the credentials ${user} has stop working; a disabled address moves with its credentials as they are. ${to} gets no password here: they rotate an address's credentials to get one.`}
          confirm={stage === "busy" ? `Moving the addresses of ${user} to ${to}…` : `Yes, move every address of ${user} to ${to}`}
          cancel="Don't off-board"
          busy={stage === "busy"}
          onConfirm={() => void run({ user, to, key: newIdempotencyKey() })}
          onCancel={() => {
            setStage("form");
            focusAfter.current = "review";
          }}
        />
      ) : (
        <form aria-label="Off-board a user" onSubmit={review}>
          <label htmlFor="offboard-leaver">Leaver's user id</label>
          <input
            id="offboard-leaver"
            ref={leaverInput}
            value={leaver}
            onChange={(event) => setLeaver(event.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
          <label htmlFor="offboard-heir">Heir's user id (who gets the addresses)</label>
          <input
            id="offboard-heir"
            value={heir}
            onChange={(event) => setHeir(event.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
          <button type="submit" ref={reviewButton}>
            Review the off-boarding
          </button>
        </form>
      )}
      {problem && (
        <p role="alert" className="carries-address">
          {problem}
        </p>
      )}
      {unfinished && stage === "form" && (
        <button type="button" ref={retryButton} className="carries-address" onClick={() => void run(unfinished)}>
          Try the off-boarding of {unfinished.user} again
        </button>
      )}
      {report && <OffboardResult report={report} headingRef={reportHeading} onAgain={again} />}
    </section>
  );
}

/** What became of each address: moved, or still the leaver's (and why). */
function OffboardResult({
  report,
  headingRef,
  onAgain,
}: {
  report: OffboardReport;
  headingRef: React.Ref<HTMLHeadingElement>;
  onAgain: (user: string, to: string) => void;
}) {
  const counts = { transferred: 0, failed: 0, skipped: 0 };
  for (const { outcome } of report.addresses) counts[outcome] += 1;
  const left = counts.failed + counts.skipped;
  return (
    <div className="card offboard-result">
      <h3 ref={headingRef} tabIndex={-1} className="carries-address">
        Off-boarding of {report.user} to {report.to}
      </h3>
      {report.addresses.length === 0 ? (
        <p className="carries-address">{report.user} has no address: nothing was moved.</p>
      ) : (
        <>
          <p>
            {counts.transferred} transferred, {counts.failed} failed, {counts.skipped} skipped.
          </p>
          <ul className="offboard-report" aria-label={`Addresses of ${report.user}`}>
            {report.addresses.map((entry) => (
              <li key={entry.address}>
                <p className="carries-address">
                  <strong>{entry.address}</strong>
                </p>
                <dl className="facts">
                  <div>
                    <dt>Outcome</dt>
                    <dd className={`outcome outcome-${entry.outcome}`}>{OFFBOARD_OUTCOMES[entry.outcome]}</dd>
                  </div>
                  <div>
                    <dt>New credentials</dt>
                    <dd>{entry.credentials_rotated ? "Yes" : "No"}</dd>
                  </div>
                  {entry.message && (
                    <div className="wide">
                      <dt>Message</dt>
                      <dd className="carries-address">{entry.message}</dd>
                    </div>
                  )}
                </dl>
              </li>
            ))}
          </ul>
        </>
      )}
      {left > 0 && (
        <>
          <p className="carries-address">
            The failed and skipped addresses are still {report.user}'s, as they were. Off-board{" "}
            {report.user} again to retry them: it moves only what is still theirs.
          </p>
          <button type="button" className="carries-address" onClick={() => onAgain(report.user, report.to)}>
            Off-board {report.user} again
          </button>
        </>
      )}
      {counts.transferred > 0 && (
        <p className="hint carries-address">
          The report holds no password: {report.to} gets one by rotating an address's credentials.
        </p>
      )}
    </div>
  );
}
