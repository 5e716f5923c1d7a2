import { useState } from "react";
import type { ReactNode } from "react";
import type { Api, Created, OffboardReport, Policy, Transferred } from "../../api/client";
import { AdminAccounts } from "./AdminAccounts";
import { ActivityReport } from "./ActivityReport";
import { AuditTrail } from "./AuditTrail";
import { DomainChecks } from "./DomainChecks";
import { Offboarding } from "./Offboarding";

/**
 * The Administration view (for administrators only: the panel shows it when
 * the policy says `administrator`; the server refuses anyone else): every
 * address and its transfer, off-boarding, the audit trail, the report, the
 * domains' checks.
 */
export function AdminView({
  api,
  policy,
  credentials,
  onCredentials,
  onChanged,
}: {
  api: Api;
  policy: Policy | null;
  /** Credentials on show from a transfer here (one set at a time on the page). */
  credentials?: ReactNode;
  /** Shows a transfer's new credentials, once. */
  onCredentials: (created: Created, title: string) => void;
  /** Addresses changed hands (the caller's own list may differ now); an off-boarding's report says which. */
  onChanged: (report?: OffboardReport) => void;
}) {
  // Each change here makes the other sections read again (owners, the audit trail, the counts).
  const [changes, setChanges] = useState(0);

  function transferred(result: Transferred) {
    if (result.credentials) {
      onCredentials(asCreated(result), `New credentials of ${result.account.email}, now ${result.account.owner}'s`);
    }
    setChanges((count) => count + 1);
    onChanged();
  }

  return (
    <div className="admin">
      <AdminAccounts
        api={api}
        policy={policy}
        credentials={credentials}
        reloadSignal={changes}
        onTransferred={transferred}
      />
      <Offboarding
        api={api}
        onDone={(report) => {
          setChanges((count) => count + 1);
          onChanged(report);
        }}
      />
      <AuditTrail api={api} reloadSignal={changes} />
      <ActivityReport api={api} reloadSignal={changes} />
      <DomainChecks api={api} />
    </div>
  );
}

/** A transfer's new credentials in the shape the credentials card shows (a create's). */
function asCreated({ account, credentials }: Transferred): Created {
  return {
    success: true,
    email: account.email,
    display_name: account.display_name,
    provider: account.provider,
    status: account.status === "disabled" ? "disabled" : "active",
    credentials: credentials!,
    webmail: account.webmail,
    created_at: account.created_at,
  };
}
