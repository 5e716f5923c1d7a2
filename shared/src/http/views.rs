//! The JSON shapes of the contract, built from domain values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::mail_dns::{DomainCheck, DomainReading};
use crate::domain::{
    Account, EmailAddress, GuardRails, Lift, ProviderKind, RecordedUsage, SmtpPassword,
    SmtpSettings, RATE_MINIMUM_SENDS, RATE_WINDOW_DAYS,
};
use crate::service::{
    least_privilege, stats_coverage, Availability, Created, Deleted, Directory, Policy, Tally,
};
use crate::store::Page;

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Responses can carry credentials: no cache may keep them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
pub struct CheckView {
    available: bool,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    suggestions: Vec<String>,
}

impl From<Availability> for CheckView {
    fn from(availability: Availability) -> Self {
        Self {
            available: availability.unavailable.is_none(),
            email: availability.email.to_string(),
            reason: availability.unavailable.map(|reason| reason.as_str()),
            suggestions: availability
                .suggestions
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct CredentialsView {
    smtp_server: String,
    smtp_port: u16,
    username: String,
    password: String,
    /// `password`: SMTP AUTH with this password; `xoauth2`: the password
    /// signs in to webmail, SMTP wants an OAuth 2.0 token of the mailbox.
    authentication: &'static str,
}

impl CredentialsView {
    /// Credentials shown once: a create's, a rotation's, a transfer's.
    pub fn of(smtp: SmtpSettings, password: &SmtpPassword) -> Self {
        Self {
            smtp_server: smtp.server,
            smtp_port: smtp.port,
            username: smtp.username,
            password: password.expose().to_string(),
            authentication: smtp.authentication.as_str(),
        }
    }
}

#[derive(Serialize)]
pub struct DeletedView {
    email: String,
    status: &'static str,
    /// When the address may be created again (by anyone).
    available_again_at: String,
}

impl From<Deleted> for DeletedView {
    fn from(deleted: Deleted) -> Self {
        Self {
            email: deleted.address.to_string(),
            status: "deleted",
            available_again_at: deleted
                .available_again_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

#[derive(Serialize)]
pub struct CreatedView {
    success: bool,
    email: String,
    display_name: String,
    provider: &'static str,
    status: &'static str,
    credentials: CredentialsView,
    webmail: Option<String>,
    created_at: String,
    /// The domain's checks that are not `ok`: the mail goes out, but may be
    /// refused or junked (Gmail's and Yahoo's sender rules). Only when any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<DomainCheckView>,
}

/// One check of a domain, as `GET /api/admin/domains` and a create's
/// `warnings` give it.
#[derive(Serialize)]
pub struct DomainCheckView {
    check: &'static str,
    status: &'static str,
    found: Option<String>,
    expected: Option<String>,
    message: String,
}

impl From<DomainCheck> for DomainCheckView {
    fn from(check: DomainCheck) -> Self {
        Self {
            check: check.check.as_str(),
            status: check.status.as_str(),
            found: check.found,
            expected: check.expected,
            message: check.message,
        }
    }
}

impl From<Created> for CreatedView {
    fn from(created: Created) -> Self {
        let Created {
            account,
            smtp,
            password,
            warnings,
            ..
        } = created;
        Self {
            success: true,
            email: account.address.to_string(),
            display_name: account.display_name.to_string(),
            provider: account.provider.as_str(),
            status: account.status.as_str(),
            credentials: CredentialsView::of(smtp, &password),
            webmail: account.webmail,
            created_at: timestamp(account.created_at),
            warnings: warnings.into_iter().map(DomainCheckView::from).collect(),
        }
    }
}

/// One row of `GET /api/email/my-accounts`: no password, ever.
#[derive(Serialize)]
pub struct AccountView {
    email: String,
    display_name: String,
    provider: &'static str,
    status: &'static str,
    smtp_server: Option<String>,
    smtp_port: Option<u16>,
    smtp_username: Option<String>,
    smtp_authentication: Option<&'static str>,
    webmail: Option<String>,
    created_at: String,
    /// While `status` is `suspended`: why, since when, and what lifts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    suspension: Option<SuspensionView>,
    /// Whether the guard rails watch this address; why not, where not.
    guard_rails: GuardRailsCoverageView,
    /// `None` (null) where the provider cannot report, with the reason.
    emails_sent_today: Option<u32>,
    emails_sent_month: Option<u32>,
    bounces_month: Option<u32>,
    complaints_month: Option<u32>,
    stats_updated_at: Option<String>,
    stats_unavailable_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct SuspensionView {
    /// `send_limit`, `bounce_rate` or `complaint_rate`.
    reason: &'static str,
    since: String,
    /// `next_utc_day`, `administrator` or `owner_after_rotation`.
    lifted_by: &'static str,
    /// For `next_utc_day`: when it lifts by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    lifts_at: Option<String>,
}

#[derive(Serialize)]
struct GuardRailsCoverageView {
    enforced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    why_not: Option<&'static str>,
}

impl GuardRailsCoverageView {
    fn of(provider: ProviderKind) -> Self {
        let why_not = GuardRails::enforced_for(provider).err();
        Self {
            enforced: why_not.is_none(),
            why_not,
        }
    }
}

impl AccountView {
    /// The account as its owner sees it now: today's and this month's
    /// counters (UTC), zero for a period with nothing counted.
    pub fn at(account: Account, seen: &Directory) -> Self {
        let now = seen.now();
        let rails = &seen.policy().guard_rails;
        let suspension = account.suspension.map(|suspension| {
            let lift = rails.lift(suspension.reason, suspension.since);
            SuspensionView {
                reason: suspension.reason.as_str(),
                since: timestamp(suspension.since),
                lifted_by: lift.as_str(),
                lifts_at: match lift {
                    Lift::NextUtcDay(at) => Some(timestamp(at)),
                    _ => None,
                },
            }
        });
        let (smtp_server, smtp_port, smtp_username, smtp_authentication) = match account.smtp {
            Some(smtp) => (
                Some(smtp.server),
                Some(smtp.port),
                Some(smtp.username),
                Some(smtp.authentication.as_str()),
            ),
            None => (None, None, None, None),
        };
        let coverage = stats_coverage(account.provider);
        let (today, month) = (account.stats.today(now), account.stats.this_month(now));
        Self {
            email: account.address.to_string(),
            display_name: account.display_name.to_string(),
            provider: account.provider.as_str(),
            status: account.status.as_str(),
            suspension,
            guard_rails: GuardRailsCoverageView::of(account.provider),
            smtp_server,
            smtp_port,
            smtp_username,
            smtp_authentication,
            webmail: account.webmail,
            created_at: timestamp(account.created_at),
            emails_sent_today: coverage.sent_today.then_some(today.sends),
            emails_sent_month: coverage.sent_month.then_some(month.sends),
            bounces_month: coverage.feedback.then_some(month.bounces),
            complaints_month: coverage.feedback.then_some(month.complaints),
            stats_updated_at: account.stats.updated_at.map(timestamp),
            stats_unavailable_reason: coverage.reason,
        }
    }
}

#[derive(Serialize)]
pub struct AccountsView {
    accounts: Vec<AccountView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl AccountsView {
    pub fn at(page: Page, seen: &Directory) -> Self {
        Self {
            accounts: page
                .accounts
                .into_iter()
                .map(|account| AccountView::at(account, seen))
                .collect(),
            next_cursor: page.next_after.as_ref().map(encode_cursor),
        }
    }
}

/// The cursor is opaque to clients: the last address of the page, base64url.
pub fn encode_cursor(after: &EmailAddress) -> String {
    URL_SAFE_NO_PAD.encode(after.to_string())
}

pub fn decode_cursor(cursor: &str) -> Option<EmailAddress> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    EmailAddress::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

/// The answer to a webhook batch: what it came to.
#[derive(Serialize)]
pub struct TallyView {
    counted: u32,
    duplicates: u32,
    not_counted: u32,
}

impl From<Tally> for TallyView {
    fn from(tally: Tally) -> Self {
        let counts = tally.counted;
        Self {
            counted: counts.sends + counts.deliveries + counts.bounces + counts.complaints,
            duplicates: tally.duplicates,
            not_counted: tally.not_counted,
        }
    }
}

/// `GET /api/email/policy`: what a create may pick, and the limits it meets.
#[derive(Serialize)]
pub struct PolicyView {
    domains: Vec<DomainView>,
    providers: Vec<&'static str>,
    provider_details: Vec<ProviderDetailView>,
    daily_create_limit: u32,
    address_quarantine_days: i64,
    guard_rails: GuardRailsView,
    /// The caller is an administrator: the panel shows its Administration view.
    administrator: bool,
}

#[derive(Serialize)]
struct ProviderDetailView {
    name: &'static str,
    /// `false` when its credentials can do more than send as their own address.
    least_privilege: bool,
    note: Option<&'static str>,
    /// Its slots (API keys, IAM users, licences) as last read; `null` where
    /// they are not bounded, or not read yet.
    capacity: Option<CapacityView>,
    guard_rails: GuardRailsCoverageView,
}

/// The limits per address that suspend it when crossed.
#[derive(Serialize)]
struct GuardRailsView {
    daily_send_limit: Option<u32>,
    /// Percentages, judged over `window_days` once `minimum_sends` were sent.
    max_bounce_rate_percent: f64,
    max_complaint_rate_percent: f64,
    minimum_sends: u32,
    window_days: i64,
    /// Whether an owner may resume a bounce or complaint suspension after rotating.
    owner_may_resume: bool,
}

#[derive(Serialize)]
struct CapacityView {
    used: u64,
    limit: u64,
    /// When they were read (by a create, or the hourly job).
    as_of: String,
}

#[derive(Serialize)]
struct DomainView {
    domain: String,
    /// Where a create on this domain goes when it names no provider.
    provider: &'static str,
    /// Whether mail from it could go out at that provider when last checked
    /// (every 6 hours, or an administrator's domains page); before that,
    /// `true` where the provider keeps no verdict, `null` where it does.
    ready: Option<bool>,
    /// Why not, or why it is not known.
    reason: Option<String>,
    /// How many of its checks were not `ok`.
    failing_checks: Option<u32>,
    checked_at: Option<String>,
}

const NOT_CHECKED_YET: &str = "not checked yet: its provider's verdict is read every 6 hours, and whenever an administrator opens the domains page";

impl PolicyView {
    /// The policy as a caller in `groups` meets it: the providers they may
    /// use, each with its usage as last read (`readings`).
    pub fn for_caller(
        policy: &Policy,
        groups: &[String],
        readings: &[RecordedUsage],
        domain_readings: &[DomainReading],
    ) -> Self {
        let providers: Vec<ProviderKind> = policy
            .providers
            .names()
            .iter()
            .copied()
            .filter(|&kind| policy.access.may_use(kind, groups))
            .collect();
        Self {
            domains: policy
                .domains
                .all()
                .iter()
                .map(|domain| {
                    let provider = policy.providers.default_for(domain);
                    let reading = domain_readings
                        .iter()
                        .find(|reading| reading.domain == *domain && reading.provider == provider);
                    DomainView {
                        domain: domain.to_string(),
                        provider: provider.as_str(),
                        // A provider that keeps no verdict sends for any domain.
                        ready: reading
                            .map(|reading| reading.ready)
                            .or((!provider.verifies_domains()).then_some(true)),
                        reason: match reading {
                            Some(reading) => reading.reason.clone(),
                            None if provider.verifies_domains() => Some(NOT_CHECKED_YET.into()),
                            None => None,
                        },
                        failing_checks: reading.map(|reading| reading.failing),
                        checked_at: reading.map(|reading| timestamp(reading.at)),
                    }
                })
                .collect(),
            provider_details: providers
                .iter()
                .map(|&kind| {
                    let (least_privilege, note) = least_privilege(kind);
                    ProviderDetailView {
                        name: kind.as_str(),
                        least_privilege,
                        note,
                        capacity: readings
                            .iter()
                            .find(|reading| reading.provider == kind)
                            .map(|reading| CapacityView {
                                used: reading.usage.used,
                                limit: reading.usage.limit,
                                as_of: reading.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                            }),
                        guard_rails: GuardRailsCoverageView::of(kind),
                    }
                })
                .collect(),
            providers: providers.iter().map(|kind| kind.as_str()).collect(),
            daily_create_limit: policy.daily_create_limit,
            address_quarantine_days: policy.quarantine.num_days(),
            guard_rails: GuardRailsView {
                daily_send_limit: policy.guard_rails.daily_send_limit,
                max_bounce_rate_percent: percent(policy.guard_rails.max_bounce_rate),
                max_complaint_rate_percent: percent(policy.guard_rails.max_complaint_rate),
                minimum_sends: RATE_MINIMUM_SENDS,
                window_days: RATE_WINDOW_DAYS,
                owner_may_resume: policy.guard_rails.self_resume,
            },
            administrator: policy.access.is_admin(groups),
        }
    }
}

#[derive(Serialize)]
pub struct HealthView {
    pub status: &'static str,
    pub version: &'static str,
}

/// A fraction as a percentage, without the float noise of `* 100`.
fn percent(fraction: f64) -> f64 {
    (fraction * 100_000.0).round() / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let address = EmailAddress::parse("sales@example.com").unwrap();
        assert_eq!(decode_cursor(&encode_cursor(&address)), Some(address));
        for junk in ["", "%%%", "bm90IGFuIGFkZHJlc3M"] {
            assert_eq!(decode_cursor(junk), None, "{junk:?}");
        }
    }
}
