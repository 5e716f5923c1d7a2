//! The administrators' shapes: every account with its owner, a transfer,
//! the audit trail and the report, in JSON, and in CSV that a spreadsheet
//! opens without running anything.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::views::{encode_cursor, AccountView, CredentialsView, DomainCheckView};
use crate::domain::Account;
use crate::service::{Directory, DomainReport, Report, ReportRow, Transferred};
use crate::store::{AuditCursor, AuditEntry, AuditPage, Page};

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An account as an administrator sees it: its owner's view, and the owner.
#[derive(Serialize)]
pub struct AdminAccountView {
    owner: String,
    #[serde(flatten)]
    account: AccountView,
}

impl AdminAccountView {
    pub fn at(account: Account, seen: &Directory) -> Self {
        Self {
            owner: account.owner.to_string(),
            account: AccountView::at(account, seen),
        }
    }
}

#[derive(Serialize)]
pub struct AdminAccountsView {
    accounts: Vec<AdminAccountView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl AdminAccountsView {
    pub fn at(page: Page, seen: &Directory) -> Self {
        Self {
            accounts: page
                .accounts
                .into_iter()
                .map(|account| AdminAccountView::at(account, seen))
                .collect(),
            next_cursor: page.next_after.as_ref().map(encode_cursor),
        }
    }
}

/// The inventory as a spreadsheet: one row per address.
pub fn accounts_csv(page: &Page) -> Response<Body> {
    let rows = page.accounts.iter().map(|account| {
        vec![
            account.address.to_string(),
            account.owner.to_string(),
            account.display_name.to_string(),
            account.provider.as_str().to_string(),
            account.status.as_str().to_string(),
            timestamp(account.created_at),
        ]
    });
    csv_response(
        "addresses.csv",
        &[
            "email",
            "owner",
            "display_name",
            "provider",
            "status",
            "created_at",
        ],
        rows,
    )
}

#[derive(Serialize)]
pub struct TransferredView {
    previous_owner: String,
    account: AdminAccountView,
    /// Shown once: the new credentials, when the transfer rotated them.
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<CredentialsView>,
}

impl TransferredView {
    pub fn at(transferred: Transferred, seen: &Directory) -> Self {
        Self {
            previous_owner: transferred.previous_owner.to_string(),
            credentials: transferred
                .credentials
                .map(|created| CredentialsView::of(created.smtp, &created.password)),
            account: AdminAccountView::at(transferred.account, seen),
        }
    }
}

#[derive(Serialize)]
pub struct AuditEntryView {
    at: String,
    action: &'static str,
    /// How the attempt stands after this entry: success, failed, pending…
    outcome: &'static str,
    actor: String,
    owner: String,
    new_owner: Option<String>,
    email: String,
    provider: &'static str,
    request_id: String,
    error: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            at: timestamp(entry.at),
            action: entry.action.as_str(),
            outcome: entry.action.status(),
            actor: entry.actor.to_string(),
            owner: entry.owner.to_string(),
            new_owner: entry.new_owner.as_ref().map(ToString::to_string),
            email: entry.address.to_string(),
            provider: entry.provider.as_str(),
            request_id: entry.request_id.clone(),
            error: entry.error.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct AuditView {
    entries: Vec<AuditEntryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl From<&AuditPage> for AuditView {
    fn from(page: &AuditPage) -> Self {
        Self {
            entries: page.entries.iter().map(AuditEntryView::from).collect(),
            next_cursor: page.next.as_ref().map(encode_audit_cursor),
        }
    }
}

pub fn audit_csv(page: &AuditPage) -> Response<Body> {
    let rows = page.entries.iter().map(|entry| {
        let view = AuditEntryView::from(entry);
        vec![
            view.at,
            view.action.to_string(),
            view.outcome.to_string(),
            view.actor,
            view.owner,
            view.new_owner.unwrap_or_default(),
            view.email,
            view.provider.to_string(),
            view.request_id,
            view.error.unwrap_or_default(),
        ]
    });
    csv_response(
        "audit.csv",
        &[
            "at",
            "action",
            "outcome",
            "actor",
            "owner",
            "new_owner",
            "email",
            "provider",
            "request_id",
            "error",
        ],
        rows,
    )
}

/// Opaque to clients: the position of the page's last entry, base64url.
pub fn encode_audit_cursor(cursor: &AuditCursor) -> String {
    URL_SAFE_NO_PAD.encode(cursor.position())
}

pub fn decode_audit_cursor(raw: &str) -> Option<AuditCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    AuditCursor::new(std::str::from_utf8(&bytes).ok()?)
}

#[derive(Serialize)]
pub struct ReportView {
    from: String,
    to: String,
    group_by: &'static str,
    rows: Vec<ReportRow>,
}

impl From<Report> for ReportView {
    fn from(report: Report) -> Self {
        Self {
            from: report.from.to_string(),
            to: report.to.to_string(),
            group_by: report.group_by.as_str(),
            rows: report.rows,
        }
    }
}

pub fn report_csv(report: &Report) -> Response<Body> {
    let rows = report.rows.iter().map(|row| {
        let mut cells = vec![row.group.clone()];
        cells.extend(
            [
                row.creates,
                row.failed_creates,
                row.deletes,
                row.rotations,
                row.transfers,
                row.suspensions,
                row.sends,
                row.deliveries,
                row.bounces,
                row.complaints,
            ]
            .map(|count| count.to_string()),
        );
        cells
    });
    csv_response(
        "report.csv",
        &[
            report.group_by.as_str(),
            "creates",
            "failed_creates",
            "deletes",
            "rotations",
            "transfers",
            "suspensions",
            "sends",
            "deliveries",
            "bounces",
            "complaints",
        ],
        rows,
    )
}

/// A text a spreadsheet takes as it is: one that would start a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return first, even after
/// spaces) gets a leading `'`, as OWASP advises against CSV injection.
pub fn neutralized(cell: &str) -> String {
    let starts_formula = cell
        .trim_start_matches(' ')
        .starts_with(['=', '+', '-', '@', '\t', '\r']);
    if starts_formula {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn csv_response(
    file_name: &str,
    header_row: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Response<Body> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let written = writer.write_record(header_row).and_then(|()| {
        rows.into_iter()
            .try_for_each(|row| writer.write_record(row.iter().map(|cell| neutralized(cell))))
    });
    // Writing to memory fails only on a bug; an empty file says so plainly.
    let text = match written.and_then(|()| writer.flush().map_err(csv::Error::from)) {
        Ok(()) => String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default(),
        Err(error) => {
            tracing::error!(%error, "could not write a CSV answer");
            String::new()
        }
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_run_as_formulas_are_neutralized() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tTab",
            "\rReturn",
            "  =after spaces",
        ] {
            assert!(neutralized(hostile).starts_with('\''), "{hostile:?}");
        }
        for plain in ["contact@example.com", "Support team", "user-1", ""] {
            assert_eq!(neutralized(plain), plain);
        }
    }

    #[test]
    fn audit_cursors_round_trip_and_junk_is_refused() {
        let cursor = AuditCursor::new("2026-12-01T10:00:00.000Z#abc123#1").unwrap();
        assert_eq!(
            decode_audit_cursor(&encode_audit_cursor(&cursor)),
            Some(cursor)
        );
        for junk in ["", "%%%", "bm90IGEgcG9zaXRpb24"] {
            assert_eq!(decode_audit_cursor(junk), None, "{junk:?}");
        }
    }
}

/// `GET /api/admin/domains`: each offered domain at each provider that
/// serves it, with every check.
#[derive(Serialize)]
pub struct DomainsView {
    domains: Vec<DomainChecksView>,
}

#[derive(Serialize)]
struct DomainChecksView {
    domain: String,
    provider: &'static str,
    /// Whether mail from it can go out at the provider (creates are 503
    /// `domain_not_ready` when not).
    ready: bool,
    /// Why not, when not.
    reason: Option<String>,
    checks: Vec<DomainCheckView>,
}

impl DomainsView {
    pub fn of(reports: impl IntoIterator<Item = DomainReport>) -> Self {
        Self {
            domains: reports
                .into_iter()
                .map(|report| DomainChecksView {
                    domain: report.domain.to_string(),
                    provider: report.provider.as_str(),
                    ready: report.ready(),
                    reason: report.not_ready,
                    checks: report
                        .checks
                        .into_iter()
                        .map(DomainCheckView::from)
                        .collect(),
                })
                .collect(),
        }
    }
}
