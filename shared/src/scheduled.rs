//! The functions EventBridge runs rather than API Gateway: on a schedule,
//! or for each event a rule matches.

use lambda_http::lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

use crate::deadline;
use crate::domain::{ProviderKind, SendEventKind};
use crate::events::{parse_ses_event, ProviderReport, ReportError};
use crate::store::SendEventOutcome;
use crate::{telemetry, App};

/// A scheduled job of the `jobs` binary, named by its function's `JOB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Reconcile,
    Quotas,
    UsageReports,
    DomainChecks,
}

impl Job {
    const ALL: [(Self, &'static str); 4] = [
        (Self::Reconcile, "reconcile"),
        (Self::Quotas, "quotas"),
        (Self::UsageReports, "usage-reports"),
        (Self::DomainChecks, "domain-checks"),
    ];

    pub fn from_env() -> Result<Self, String> {
        Self::named(&std::env::var("JOB").unwrap_or_default())
    }

    fn named(named: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|(_, name)| *name == named)
            .map(|(job, _)| job)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, name)| *name).collect();
                format!("JOB must be one of {}, not {named:?}", names.join(", "))
            })
    }

    pub async fn run(
        self,
        app: &App,
        event: LambdaEvent<Value>,
    ) -> Result<Value, lambda_http::Error> {
        let deadline_ms = Some(event.context.deadline);
        deadline::within(deadline_ms, async {
            match self {
                Self::Reconcile => reconcile(app, event).await,
                Self::Quotas => publish_quotas(app, event).await,
                Self::UsageReports => read_usage_reports(app, event).await,
                Self::DomainChecks => check_domains(app, event).await,
            }
        })
        .await
    }
}

/// Every few minutes: clean up the creates that died (see
/// `Provisioning::recover_abandoned`), drop the sealed passwords whose
/// replay window is over, lift the send-limit suspensions of past days, then publish the lifecycle events still in the
/// outbox. Answers how many of each.
pub async fn reconcile(app: &App, event: LambdaEvent<Value>) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let recovered = app.service.recover_abandoned().await?;
    let passwords_dropped = app.service.drop_expired_passwords().await?;
    let suspensions_lifted = app.service.lift_due_suspensions().await?;
    // After the recovery, whose changes it may have committed: every
    // change still waiting in the outbox is published.
    let published = app.service.announcer().drain().await?;
    tracing::info!(
        request_id = event.context.request_id,
        function = telemetry::function_name(),
        cold_start,
        recovered,
        passwords_dropped,
        suspensions_lifted,
        published,
        "reconciled abandoned creates, dropped expired sealed passwords, lifted send-limit suspensions and published waiting lifecycle events"
    );
    Ok(json!({
        "recovered": recovered,
        "passwords_dropped": passwords_dropped,
        "suspensions_lifted": suspensions_lifted,
        "published": published
    }))
}

/// For each SES event the configuration set publishes: counted against the
/// address that sent the mail, which is then judged by the guard rails
/// (and suspended if it crossed one). A report that is not ours, or of a
/// kind not counted, is answered and logged at debug; only a store or
/// provider failure is an error (EventBridge then retries the event, and
/// the retry judges the address again).
pub async fn count_ses_event(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let request_id = event.context.request_id.as_str();
    let mut report = match parse_ses_event(&event.payload) {
        Ok(report) => report,
        Err(ReportError::NotCounted(kind)) => {
            tracing::debug!(kind, "an SES event of a kind not counted");
            return Ok(json!({ "outcome": "not_counted" }));
        }
        Err(error) => {
            tracing::warn!(%error, "an event that is not an SES event record");
            return Ok(json!({ "outcome": "unreadable" }));
        }
    };
    if app.read().ses_events_on_arrival {
        report.at = app.read().directory.now();
    }
    let guarded = app.service.count_and_guard(&report).await?;
    let outcome = match guarded.outcome {
        SendEventOutcome::Counted => {
            let metric = match report.kind {
                SendEventKind::Send => "Sends",
                SendEventKind::Delivery => "Deliveries",
                SendEventKind::Bounce => "Bounces",
                SendEventKind::Complaint => "Complaints",
            };
            telemetry::emit_metrics(
                report.at,
                &[("Provider", ProviderKind::Ses.as_str())],
                &[(metric, 1.0)],
            );
            "counted"
        }
        SendEventOutcome::Duplicate => "duplicate",
        SendEventOutcome::NotOurs => {
            tracing::debug!(
                event_key = report.event_key,
                "an SES event of an address we do not manage"
            );
            "not_ours"
        }
    };
    tracing::info!(
        request_id,
        function = telemetry::function_name(),
        cold_start,
        event_key = report.event_key,
        outcome,
        suspended = guarded.suspended.map(|reason| reason.as_str()),
        "SES event"
    );
    // `suspended` only when this event's address was suspended now.
    let mut answer = json!({ "outcome": outcome });
    if let Some(reason) = guarded.suspended {
        answer["suspended"] = json!(reason.as_str());
    }
    Ok(answer)
}

/// Every hour: each offered provider's sending quota and its use (where its
/// API says), its slots (keys, users, licences) and their use, kept for the
/// policy route too, and how many accounts exist, as metrics for the
/// dashboard and the 80% alarms. A provider that cannot be read is logged
/// and counted (`QuotaReadFailures`, `CapacityReadFailures`); the others
/// are still published.
pub async fn publish_quotas(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let now = chrono::Utc::now();
    let mut published = Vec::new();
    let mut capacities = Vec::new();
    let mut fullest: f64 = 0.0;
    for provider in app.service.providers().offered() {
        let name = provider.kind().as_str();
        match provider.sending_quota().await {
            Ok(Some(quota)) => {
                telemetry::emit_metrics(
                    now,
                    &[("Provider", name)],
                    &[
                        ("QuotaLimit", quota.limit),
                        ("QuotaUsed", quota.used),
                        ("QuotaUsedPercent", quota.used_percent()),
                    ],
                );
                published.push(json!({ "provider": name, "used_percent": quota.used_percent(), "period": quota.period }));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(provider = name, %error, "could not read a provider's sending quota");
                telemetry::emit_metrics(now, &[("Provider", name)], &[("QuotaReadFailures", 1.0)]);
            }
        }
        match app.service.usage_of(provider.as_ref()).await {
            Ok(Some(usage)) => {
                telemetry::emit_metrics(
                    now,
                    &[("Provider", name)],
                    &[
                        ("CapacityUsed", usage.used as f64),
                        ("CapacityLimit", usage.limit as f64),
                        ("CapacityUsedPercent", usage.used_percent()),
                    ],
                );
                fullest = fullest.max(usage.used_percent());
                capacities
                    .push(json!({ "provider": name, "used": usage.used, "limit": usage.limit }));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(provider = name, %error, "could not read a provider's capacity");
                telemetry::emit_metrics(
                    now,
                    &[("Provider", name)],
                    &[("CapacityReadFailures", 1.0)],
                );
            }
        }
    }
    // One figure for one alarm: the fullest provider's share.
    if !capacities.is_empty() {
        telemetry::emit_metrics(
            now,
            &[("Service", "email-provisioning")],
            &[("CapacityUsedPercent", fullest)],
        );
    }
    let accounts = app.read().directory.count_created_accounts().await?;
    telemetry::emit_metrics(
        now,
        &[("Service", "email-provisioning")],
        &[("Accounts", accounts as f64)],
    );
    tracing::info!(
        request_id = event.context.request_id,
        function = telemetry::function_name(),
        cold_start,
        accounts,
        "published provider quotas"
    );
    Ok(json!({ "quotas": published, "capacity": capacities, "accounts": accounts }))
}

/// Every 6 hours: each offered domain at each provider that serves it, its
/// checks kept for the policy and published per domain
/// (`DomainChecksFailing`, `DomainReady`); the domains that were ready at
/// the last check and are not now are logged at error and counted
/// (`DomainsStoppedBeingReady`, which `DomainNotReadyAlarm` watches).
pub async fn check_domains(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let now = chrono::Utc::now();
    let mut stopped = 0_u32;
    let mut checked = Vec::new();
    for (report, was_ready) in app.service.domain_reports().await {
        let (domain, provider) = (report.domain.as_str(), report.provider.as_str());
        telemetry::emit_metrics(
            now,
            &[("Domain", domain), ("Provider", provider)],
            &[
                ("DomainChecksFailing", f64::from(report.failing())),
                ("DomainReady", if report.ready() { 1.0 } else { 0.0 }),
            ],
        );
        if was_ready == Some(true) && !report.ready() {
            stopped += 1;
            tracing::error!(
                domain,
                provider,
                reason = report.not_ready.as_deref(),
                "a domain that was ready to send is not any more"
            );
        }
        checked.push(json!({
            "domain": domain,
            "provider": provider,
            "ready": report.ready(),
            "failing_checks": report.failing(),
        }));
    }
    telemetry::emit_metrics(
        now,
        &[("Service", "email-provisioning")],
        &[("DomainsStoppedBeingReady", f64::from(stopped))],
    );
    tracing::info!(
        request_id = event.context.request_id,
        function = telemetry::function_name(),
        cold_start,
        domains = checked.len(),
        stopped_being_ready = stopped,
        "checked the domains"
    );
    Ok(json!({ "domains": checked, "stopped_being_ready": stopped }))
}

/// The days a usage-reports run reads, back from today: Microsoft publishes
/// a day within two days, Google within three; each (mailbox, day) counts once.
const REPORTED_DAYS_BACK: std::ops::RangeInclusive<i64> = 2..=4;

/// Every day: what the mailboxes of the providers that push no send events
/// (Microsoft 365, Google) sent, from their usage reports, counted in each
/// day's and month's counters of the addresses this service created.
pub async fn read_usage_reports(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let today = app.read().directory.now().date_naive();
    let (mut counted, mut failures) = (0, Vec::new());
    for provider in app.service.providers().offered() {
        for back in REPORTED_DAYS_BACK {
            let day = today - chrono::Duration::days(back);
            let rows = match provider.daily_sends(day).await {
                Ok(Some(rows)) => rows,
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(provider = provider.kind().as_str(), %day, %error, "could not read a usage report");
                    failures.push(
                        json!({ "provider": provider.kind().as_str(), "day": day.to_string() }),
                    );
                    continue;
                }
            };
            for row in rows.into_iter().filter(|row| row.sends > 0) {
                let report = ProviderReport {
                    event_key: format!("report:{}:{}:{day}", provider.kind().as_str(), row.address),
                    senders: vec![row.address],
                    kind: SendEventKind::Send,
                    count: row.sends,
                    at: day.and_time(chrono::NaiveTime::MIN).and_utc(),
                };
                if app.read().directory.count_report(&report).await?.0 == SendEventOutcome::Counted
                {
                    counted += 1;
                }
            }
        }
    }
    tracing::info!(
        request_id = event.context.request_id,
        function = telemetry::function_name(),
        cold_start,
        counted,
        failures = failures.len(),
        "read usage reports"
    );
    Ok(json!({ "counted": counted, "failures": failures }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_named_by_its_function() {
        assert_eq!(Job::named("reconcile"), Ok(Job::Reconcile));
        assert_eq!(Job::named("quotas"), Ok(Job::Quotas));
        assert_eq!(Job::named("usage-reports"), Ok(Job::UsageReports));
        assert!(Job::named("").unwrap_err().contains("JOB must be"));
    }
}
