//! Send statistics: a provider's report counted against the address that
//! sent the mail, once, in the counters of its UTC day and month.

use crate::events::ProviderReport;
use crate::store::{SendEvent, SendEventOutcome};

use super::{Directory, ServiceError};

impl Directory {
    /// Counts `report` against the first of its senders that is one of our
    /// addresses; `NotOurs` when none is.
    pub async fn count_report(
        &self,
        report: &ProviderReport,
    ) -> Result<SendEventOutcome, ServiceError> {
        let recorded_at = self.clock.now();
        for sender in &report.senders {
            let event = SendEvent {
                address: sender.clone(),
                kind: report.kind,
                at: report.at,
                event_key: report.event_key.clone(),
                recorded_at,
            };
            match self.store.record_send_event(&event).await? {
                SendEventOutcome::NotOurs => continue,
                counted_or_seen => return Ok(counted_or_seen),
            }
        }
        Ok(SendEventOutcome::NotOurs)
    }
}
