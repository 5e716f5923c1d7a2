// Words and formats the Administration view shares.
import type { AuditAction, AuditEntry, OffboardOutcome, ProviderName, ReportGrouping } from "../../api/client";

/** Every audited action, in the contract's order, as people read it. */
export const AUDIT_ACTIONS: Record<AuditAction, string> = {
  create_started: "Create started",
  created: "Created",
  create_failed: "Create failed",
  create_rejected: "Create refused",
  deleted: "Deleted",
  delete_failed: "Delete failed",
  credentials_rotated: "Credentials rotated",
  rotate_failed: "Rotation failed",
  disabled: "Disabled",
  disable_failed: "Disable failed",
  enabled: "Enabled",
  enable_failed: "Enable failed",
  transferred: "Transferred",
  transferred_and_rotated: "Transferred with new credentials",
  transfer_failed: "Transfer failed",
  suspended_send_limit: "Suspended: daily send limit",
  suspended_bounce_rate: "Suspended: bounce rate",
  suspended_complaint_rate: "Suspended: complaint rate",
  suspend_failed: "Suspension failed",
  resumed: "Resumed",
  resume_failed: "Resume failed",
};

export const AUDIT_OUTCOMES: Record<AuditEntry["outcome"], string> = {
  pending: "Pending",
  success: "Success",
  failed: "Failed",
  rejected: "Refused",
  deleted: "Deleted",
  disabled: "Disabled",
  suspended: "Suspended",
};

export const OFFBOARD_OUTCOMES: Record<OffboardOutcome["outcome"], string> = {
  transferred: "Transferred",
  failed: "Failed: still the leaver's",
  skipped: "Skipped: still the leaver's",
};

export const GROUPINGS: Record<ReportGrouping, string> = {
  day: "Day",
  domain: "Domain",
  provider: "Provider",
  owner: "Owner",
};

/** Every provider the service knows, for the list's filter (any address may be at any of them). */
export const ALL_PROVIDERS: ProviderName[] = ["sandbox", "ses", "sendgrid", "microsoft365", "google"];

/** A timestamp's UTC day, as the API counts days. */
export function day(timestamp: string): string {
  return timestamp.slice(0, 10);
}

/** A timestamp to the second, in UTC (the audit trail's clock). */
export function moment(timestamp: string): string {
  return `${timestamp.slice(0, 19).replace("T", " ")} UTC`;
}

/** The UTC days from `from` to `to` (YYYY-MM-DD, inclusive), in order. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= end && days.length <= 400; at += 86_400_000) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** Saves `blob` as a file named `name`: through an object URL, since the request needed the caller's headers. */
export function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // After the browser has taken the file.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
