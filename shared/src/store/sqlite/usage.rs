//! Each provider's slots as last read.

use async_trait::async_trait;
use rusqlite::params;

use super::select;
use super::SqliteStore;
use crate::domain::{RecordedUsage, Usage};
use crate::store::encoding::{backend, corrupt, parse_timestamp, provider_kind, timestamp};
use crate::store::{StoreError, UsageReadings};

#[async_trait]
impl UsageReadings for SqliteStore {
    async fn record_usage(&self, reading: &RecordedUsage) -> Result<(), StoreError> {
        let reading = *reading;
        self.in_transaction(move |tx| {
            tx.execute(
                "INSERT INTO provider_usage (provider, used, slots, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (provider) DO UPDATE SET used = excluded.used,
                   slots = excluded.slots, at = excluded.at
                 WHERE excluded.at >= provider_usage.at",
                params![
                    reading.provider.as_str(),
                    i64::try_from(reading.usage.used).map_err(corrupt)?,
                    i64::try_from(reading.usage.limit).map_err(corrupt)?,
                    timestamp(reading.at),
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn recorded_usage(&self) -> Result<Vec<RecordedUsage>, StoreError> {
        let rows = self
            .with_connection(|connection| {
                select(
                    connection,
                    "SELECT provider, used, slots, at FROM provider_usage ORDER BY provider",
                    [],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    },
                )
            })
            .await?;
        rows.into_iter()
            .map(|(provider, used, limit, at)| {
                Ok(RecordedUsage {
                    provider: provider_kind(&provider)?,
                    usage: Usage {
                        used: used.unsigned_abs(),
                        limit: limit.unsigned_abs(),
                    },
                    at: parse_timestamp(&at)?,
                })
            })
            .collect()
    }
}
