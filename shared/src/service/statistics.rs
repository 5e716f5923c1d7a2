//! Send statistics: a provider's report counted against the address that
//! sent the mail, once, in the counters of its UTC day and month.

use crate::domain::{EmailAddress, SendCounts};
use crate::events::{ProviderReport, SendGridEvent};
use crate::store::{SendEvent, SendEventOutcome};

use super::{Directory, ServiceError};

impl Directory {
    /// Counts `report` against the first of its senders that is one of our
    /// addresses, and says which; `NotOurs` when none is.
    pub async fn count_report(
        &self,
        report: &ProviderReport,
    ) -> Result<(SendEventOutcome, Option<EmailAddress>), ServiceError> {
        let recorded_at = self.clock.now();
        for sender in &report.senders {
            let event = SendEvent {
                address: sender.clone(),
                kind: report.kind,
                count: report.count,
                at: report.at,
                event_key: report.event_key.clone(),
                recorded_at,
            };
            match self.store.send_counters.record_send_event(&event).await? {
                SendEventOutcome::NotOurs => continue,
                counted_or_seen => return Ok((counted_or_seen, Some(sender.clone()))),
            }
        }
        Ok((SendEventOutcome::NotOurs, None))
    }
}

/// What a batch of reports that name no sender came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// New reports, by kind: the provider account's, no address's.
    pub counted: SendCounts,
    pub duplicates: u32,
    /// Kinds not counted (opens, clicks, deferrals…).
    pub not_counted: u32,
}

impl Directory {
    /// Tallies SendGrid's reports, each once: they cannot be counted against
    /// an address (they do not say which key sent), only against the account.
    pub async fn tally_unattributed(
        &self,
        events: &[SendGridEvent],
    ) -> Result<Tally, ServiceError> {
        let recorded_at = self.clock.now();
        let mut tally = Tally::default();
        for event in events {
            let Some(kind) = event.kind else {
                tally.not_counted += 1;
                continue;
            };
            if self
                .store
                .send_counters
                .remember_event(&event.event_key, recorded_at)
                .await?
            {
                tally.counted = tally.counted.plus(kind, 1);
            } else {
                tally.duplicates += 1;
            }
        }
        Ok(tally)
    }
}
