//! SES event publishing through a configuration set's EventBridge
//! destination: `detail` is the SES event record (`eventType`, `mail`, and
//! one object named after the event type).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{ProviderReport, ReportError};
use crate::domain::{EmailAddress, SendEventKind};

#[derive(Deserialize)]
struct Envelope {
    source: String,
    time: DateTime<Utc>,
    detail: Record,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_type: String,
    mail: Mail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
    source: String,
    #[serde(default)]
    tags: std::collections::HashMap<String, Vec<String>>,
}

/// The IAM identity that sent through SES (for SMTP, the IAM user whose
/// access key signed in): our users are named after their address.
const CALLER_IDENTITY_TAG: &str = "ses:caller-identity";

/// Reads one EventBridge event of SES's `Email …` kinds.
pub fn parse_ses_event(event: &serde_json::Value) -> Result<ProviderReport, ReportError> {
    let envelope =
        Envelope::deserialize(event).map_err(|error| ReportError::Unreadable(error.to_string()))?;
    if envelope.source != "aws.ses" {
        return Err(ReportError::Unreadable(format!(
            "source {:?} is not aws.ses",
            envelope.source
        )));
    }
    let record = envelope.detail;
    let kind = match record.event_type.as_str() {
        "Send" => SendEventKind::Send,
        "Delivery" => SendEventKind::Delivery,
        "Bounce" => SendEventKind::Bounce,
        "Complaint" => SendEventKind::Complaint,
        other => return Err(ReportError::NotCounted(other.to_string())),
    };
    let caller = record
        .mail
        .tags
        .get(CALLER_IDENTITY_TAG)
        .and_then(|values| values.first())
        .and_then(|identity| EmailAddress::parse(identity).ok());
    let senders = caller
        .into_iter()
        .chain(envelope_sender(&record.mail.source))
        .collect();
    Ok(ProviderReport {
        senders,
        kind,
        count: 1,
        at: envelope.time,
        event_key: format!("ses:{}:{}", record.mail.message_id, record.event_type),
    })
}

/// `mail.source` is the envelope sender, possibly with a display name
/// (`"Support" <support@example.com>`).
fn envelope_sender(source: &str) -> Option<EmailAddress> {
    let address = match (source.rfind('<'), source.rfind('>')) {
        (Some(open), Some(close)) if open < close => &source[open + 1..close],
        _ => source,
    };
    EmailAddress::parse(address.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_sender_is_read_with_or_without_a_display_name() {
        let plain = envelope_sender("support@example.com").unwrap();
        assert_eq!(plain.to_string(), "support@example.com");
        let named = envelope_sender("\"Support Team\" <Support@Example.com>").unwrap();
        assert_eq!(named.to_string(), "support@example.com");
        assert_eq!(envelope_sender("not an address"), None);
    }
}
