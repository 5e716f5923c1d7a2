//! The functions EventBridge runs rather than API Gateway: on a schedule,
//! or for each event a rule matches.

use lambda_http::lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

use crate::domain::SendEventKind;
use crate::events::{parse_ses_event, ReportError};
use crate::store::SendEventOutcome;
use crate::{telemetry, App, ReadApp};

/// Every few minutes: clean up the creates that died (see
/// `Provisioning::recover_abandoned`). Answers how many it recovered.
pub async fn reconcile(app: &App, event: LambdaEvent<Value>) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let recovered = app.service.recover_abandoned().await?;
    tracing::info!(
        request_id = event.context.request_id,
        function = telemetry::function_name(),
        cold_start,
        recovered,
        "reconciled abandoned creates"
    );
    Ok(json!({ "recovered": recovered }))
}

/// For each SES event the configuration set publishes: counted against the
/// address that sent the mail. A report that is not ours, or of a kind not
/// counted, is answered and logged at debug; only a store failure is an
/// error (EventBridge then retries the event).
pub async fn count_ses_event(
    app: &ReadApp,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let cold_start = telemetry::invocation_started();
    let request_id = event.context.request_id.as_str();
    let report = match parse_ses_event(&event.payload) {
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
    let outcome = app.directory.count_report(&report).await?;
    let outcome = match outcome {
        SendEventOutcome::Counted => {
            let metric = match report.kind {
                SendEventKind::Send => "Sends",
                SendEventKind::Delivery => "Deliveries",
                SendEventKind::Bounce => "Bounces",
                SendEventKind::Complaint => "Complaints",
            };
            telemetry::emit_metrics(report.at, &[("Provider", "ses")], &[(metric, 1)]);
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
        "SES event"
    );
    Ok(json!({ "outcome": outcome }))
}
