//! Provider reports counted once, into an address's day and month.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::oversight::count_daily_send;
use super::rows::{decode_stats, encode_stats, remember};
use super::{select, SqliteStore};
use crate::domain::{EmailAddress, SendCounts};
use crate::store::encoding::{backend, parse_day};
use crate::store::{SendCounters, SendEvent, SendEventOutcome, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

#[async_trait]
impl SendCounters for SqliteStore {
    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError> {
        let event = event.clone();
        self.in_transaction(move |tx| {
            let account: Option<(String, Option<String>, String)> = tx
                .query_row(
                    "SELECT owner, send_stats, provider FROM accounts
                     WHERE address = ?1 AND status IN ('active', 'disabled', 'suspended')",
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

    async fn daily_counts(
        &self,
        address: &EmailAddress,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, SendCounts)>, StoreError> {
        let address = address.to_string();
        self.with_connection(move |connection| {
            let rows = select(
                connection,
                "SELECT day, sends, deliveries, bounces, complaints FROM daily_sends
                 WHERE address = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
                params![address, from.to_string(), to.to_string()],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        SendCounts {
                            sends: row.get(1)?,
                            deliveries: row.get(2)?,
                            bounces: row.get(3)?,
                            complaints: row.get(4)?,
                        },
                    ))
                },
            )?;
            rows.into_iter()
                .map(|(day, counts)| Ok((parse_day(&day)?, counts)))
                .collect()
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
