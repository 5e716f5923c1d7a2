//! Provider reports counted once, into an address's day and month.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::oversight::count_daily_send;
use super::rows::{decode_stats, encode_stats, remember};
use super::SqliteStore;
use crate::store::encoding::backend;
use crate::store::{SendCounters, SendEvent, SendEventOutcome, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl SendCounters for SqliteStore {
    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError> {
        let event = event.clone();
        self.in_transaction(move |tx| {
            let account: Option<(String, Option<String>, String)> = tx
                .query_row(
                    "SELECT owner, send_stats, provider FROM accounts
                     WHERE address = ?1 AND status IN ('active', 'disabled')",
                    [event.address.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((owner, kept, provider)) = account else {
                return Ok(SendEventOutcome::NotOurs);
            };
            if !remember(tx, &event.event_key, event.recorded_at)? {
                return Ok(SendEventOutcome::Duplicate);
            }
            let counted = event.counted_in(&decode_stats(kept.as_deref())?);
            tx.execute(
                "UPDATE accounts SET send_stats = ?3 WHERE owner = ?1 AND address = ?2",
                params![owner, event.address.to_string(), encode_stats(&counted)],
            )
            .map_err(backend)?;
            count_daily_send(
                tx,
                event.at.date_naive(),
                &event.address,
                &owner,
                &provider,
                event.kind,
                event.count,
            )?;
            Ok(SendEventOutcome::Counted)
        })
        .await
    }

    async fn remember_event(
        &self,
        event_key: &str,
        recorded_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let event_key = event_key.to_string();
        self.in_transaction(move |tx| remember(tx, &event_key, recorded_at))
            .await
    }
}
