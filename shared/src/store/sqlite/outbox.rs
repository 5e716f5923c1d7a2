//! The outbox: committed changes waiting to be published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::rows::{StoredAuditEntry, AUDIT_COLUMNS};
use super::select;
use super::SqliteStore;
use crate::store::encoding::backend;
use crate::store::{Outbox, OutboxEntry, StoreError};

#[async_trait]
impl Outbox for SqliteStore {
    async fn lease_unpublished(
        &self,
        limit: usize,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self
            .in_transaction(move |tx| {
                let rows = select(
                    tx,
                    &format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE position IN
                           (SELECT position FROM outbox WHERE leased_until_ms <= ?1
                            ORDER BY position LIMIT ?2)
                         ORDER BY position"
                    ),
                    params![now.timestamp_millis(), limit as i64],
                    StoredAuditEntry::read,
                )?;
                for row in &rows {
                    tx.execute(
                        "UPDATE outbox SET leased_until_ms = ?1 WHERE position = ?2",
                        params![until.timestamp_millis(), row.position],
                    )
                    .map_err(backend)?;
                }
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|row| {
                let position = row.position.clone();
                Ok(OutboxEntry {
                    position,
                    entry: row.into_entry()?,
                })
            })
            .collect()
    }

    async fn published(&self, positions: &[String]) -> Result<(), StoreError> {
        let positions = positions.to_vec();
        self.in_transaction(move |tx| {
            for position in &positions {
                tx.execute("DELETE FROM outbox WHERE position = ?1", [position])
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }
}
