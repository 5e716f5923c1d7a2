//! Lifecycle events: each committed change of an address, told to the
//! rest of the company. `LifecycleEvent` is what a change's outbox entry
//! becomes; an `EventSink` publishes it: EventBridge in AWS
//! (`eventbridge.rs`), a JSON-lines file locally (`jsonl.rs`).

mod eventbridge;
mod jsonl;

use async_trait::async_trait;
use chrono::SecondsFormat;
use serde::Serialize;

pub use eventbridge::EventBridgeSink;
pub use jsonl::JsonLinesSink;

use crate::store::{AuditAction, OutboxEntry};

/// The events' `source` on the bus.
pub const SOURCE: &str = "email-provisioning";

/// One committed change, as published: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    /// `AccountCreated`, `CredentialsRotated`, `AccountDisabled`,
    /// `AccountEnabled`, `AccountDeleted`, `AccountTransferred`,
    /// `AccountSuspended` or `AccountResumed`.
    #[serde(skip)]
    pub detail_type: &'static str,
    /// The change's id: published twice (delivery is at least once), it
    /// has the same id, for a consumer to drop the second.
    pub id: String,
    pub address: String,
    /// Whose the address is after the change (for a transfer, the new owner).
    pub owner: String,
    /// Who made the change: the owner, an administrator, or a key's owner.
    pub actor: String,
    pub provider: &'static str,
    /// When the change was made (RFC 3339, UTC).
    pub time: String,
    pub request_id: String,
    /// A transfer's previous owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_owner: Option<String>,
    /// A transfer's: whether the address got new credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_rotated: Option<bool>,
    /// A suspension's: the guard rail crossed (`send_limit`, `bounce_rate`,
    /// `complaint_rate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl LifecycleEvent {
    /// The event a waiting change makes; `None` for an entry no event tells of.
    pub fn of(waiting: &OutboxEntry) -> Option<Self> {
        let entry = &waiting.entry;
        let (detail_type, rotated) = match entry.action {
            AuditAction::Created => ("AccountCreated", None),
            AuditAction::CredentialsRotated => ("CredentialsRotated", None),
            AuditAction::Disabled => ("AccountDisabled", None),
            AuditAction::Enabled => ("AccountEnabled", None),
            AuditAction::Deleted => ("AccountDeleted", None),
            AuditAction::Transferred => ("AccountTransferred", Some(false)),
            AuditAction::TransferredAndRotated => ("AccountTransferred", Some(true)),
            AuditAction::Suspended(_) => ("AccountSuspended", None),
            AuditAction::Resumed => ("AccountResumed", None),
            _ => return None,
        };
        let reason = match entry.action {
            AuditAction::Suspended(reason) => Some(reason.as_str()),
            _ => None,
        };
        let (owner, previous_owner) = match &entry.new_owner {
            Some(new_owner) => (new_owner.to_string(), Some(entry.owner.to_string())),
            None => (entry.owner.to_string(), None),
        };
        Some(Self {
            detail_type,
            id: waiting.position.clone(),
            address: entry.address.to_string(),
            owner,
            actor: entry.actor.to_string(),
            provider: entry.provider.as_str(),
            time: entry.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            request_id: entry.request_id.clone(),
            previous_owner,
            credentials_rotated: rotated,
            reason,
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the events could not be published: {0}")]
pub struct PublishError(pub String);

/// Where lifecycle events go.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Publishes `events`; answers the ids of those it published (all of
    /// them, or those a partial failure let through).
    async fn publish(&self, events: &[LifecycleEvent]) -> Result<Vec<String>, PublishError>;
}
