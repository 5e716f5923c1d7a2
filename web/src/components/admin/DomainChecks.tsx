import { useCallback, useEffect, useState } from "react";
import type { Api, CheckedDomain, DomainCheck } from "../../api/client";
import { describeError } from "../../messages";
import { ActionButton } from "../ActionButton";
import { LabelWithContext } from "../LabelWithContext";
import { useCopy } from "../useCopy";
import { TableRegion } from "./TableRegion";

const CHECK_NAMES: Record<DomainCheck["check"], string> = {
  mx: "MX",
  spf: "SPF",
  dkim: "DKIM",
  dmarc: "DMARC",
  provider: "Provider's verdict",
};

const STATUS_NAMES: Record<DomainCheck["status"], string> = {
  ok: "OK",
  missing: "Missing",
  wrong: "Wrong",
  unknown: "Unknown (no answer in time)",
};

/**
 * Each domain at each provider that serves it: whether mail from it can go
 * out, and every check (MX, SPF, DKIM, DMARC, the provider's verdict) with
 * what is published and the exact record to publish, each copyable. The
 * server checks when the section opens and on "Check again".
 */
export function DomainChecks({ api }: { api: Api }) {
  const [domains, setDomains] = useState<CheckedDomain[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [copied, copy] = useCopy();

  const check = useCallback(async () => {
    setChecking(true);
    try {
      const answer = await api.domains();
      // A gateway's own answer may carry no list: show none rather than fail the view.
      setDomains(Array.isArray(answer.domains) ? answer.domains : []);
      setProblem(null);
    } catch (error) {
      setProblem(describeError(error, "admin"));
    } finally {
      setChecking(false);
    }
  }, [api]);

  useEffect(() => void check(), [check]);


  return (
    <section aria-labelledby="domains-title" className="admin-section wide-section">
      <h2 id="domains-title">Domains</h2>
      <p>
        Whether mail from each domain can go out and will arrive: Gmail, Yahoo and Outlook.com
        refuse mail without SPF and DKIM, and ask bulk senders for DMARC.
      </p>
      <ActionButton unavailable={checking} onPress={() => void check()}>
        {checking ? "Checking…" : "Check again"}
      </ActionButton>
      {problem && <p role="alert">{problem}</p>}
      <p role="status" className="copied">
        {copied}
      </p>
      {domains === null ? (
        !problem && <p>Checking the domains…</p>
      ) : (
        domains.map((domain) => (
          <article
            key={`${domain.domain}-${domain.provider}`}
            className="domain"
            aria-labelledby={`domain-${domain.domain}-${domain.provider}`}
          >
            <h3 id={`domain-${domain.domain}-${domain.provider}`} className="carries-address">
              {domain.domain} at {domain.provider}
            </h3>
            <p className={domain.ready ? "ready" : "not-ready"}>
              {domain.ready ? "Ready: mail from it can go out." : `Not ready: ${domain.reason}`}
            </p>
            <TableRegion label={`Checks of ${domain.domain} at ${domain.provider}`}>
              <table className="domain-checks">
                <thead>
                  <tr>
                    <th scope="col">Check</th>
                    <th scope="col">State</th>
                    <th scope="col">What it says</th>
                    <th scope="col">Published now</th>
                    <th scope="col">To publish</th>
                  </tr>
                </thead>
                <tbody>
                  {domain.checks.map((found) => (
                    <tr key={found.check} data-status={found.status}>
                      <th scope="row">{CHECK_NAMES[found.check]}</th>
                      <td>{STATUS_NAMES[found.status]}</td>
                      <td className="carries-address">{found.message}</td>
                      <td>
                        <code className="carries-address">{found.found ?? "—"}</code>
                      </td>
                      <td>
                        {found.status !== "ok" && found.expected ? (
                          <>
                            <code className="carries-address record">{found.expected}</code>
                            <button
                              type="button"
                              onClick={() =>
                                void copy(`The ${CHECK_NAMES[found.check]} record`, found.expected!)
                              }
                            >
                              <LabelWithContext
                                visible="Copy"
                                context={`the ${CHECK_NAMES[found.check]} record of ${domain.domain}`}
                              />
                            </button>
                          </>
                        ) : (
                          "—"
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          </article>
        ))
      )}
    </section>
  );
}
