//! What providers report about sent mail, read from their own formats:
//! SES events as EventBridge delivers them, SendGrid's signed Event Webhook. Each report names the address
//! it is about as precisely as the format allows; the statistics use case
//! counts it against our account there, once.

mod sendgrid;
mod ses;

use chrono::{DateTime, Utc};

use crate::domain::{EmailAddress, SendEventKind};

pub use sendgrid::{
    parse_sendgrid_batch, SendGridEvent, SendGridWebhookKey, SignatureError, SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE, TIMESTAMP_HEADER,
};
pub use ses::parse_ses_event;

/// One provider report, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    /// Who sent it, best evidence first (for SES: the IAM user, then the
    /// envelope sender).
    pub senders: Vec<EmailAddress>,
    pub kind: SendEventKind,
    /// How many messages it stands for (an event: 1; a daily report: the day's).
    pub count: u32,
    pub at: DateTime<Utc>,
    /// Unique per message and kind of report: a redelivery has the same.
    pub event_key: String,
}

/// A report this service does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("not a report this service reads: {0}")]
    Unreadable(String),
    /// A kind of report that counts nothing here (opens, clicks, rejects…).
    #[error("a {0} report counts nothing here")]
    NotCounted(String),
}
