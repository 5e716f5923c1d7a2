//! `Idempotency-Key` records.

use crate::store::encoding::from_millis;
use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::SqliteStore;
use crate::domain::{IdempotencyKey, UserId};
use crate::store::encoding::{backend, corrupt};
use crate::store::{
    is_live, Idempotency, IdempotencyRecord, IdempotencyStart, IdempotencyState, StoreError,
};
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl Idempotency for SqliteStore {
    async fn start_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError> {
        let (owner, key, record) = (owner.to_string(), key.to_string(), record.clone());
        self.in_transaction(move |tx| {
            let existing = tx
                .query_row(
                    "SELECT request_hash, state, response, expires_ms, in_progress_until_ms
                     FROM idempotency WHERE owner = ?1 AND key = ?2",
                    params![owner, key],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, i64>(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)?;
            if let Some((request_hash, state, response, expires, in_progress_until)) = existing {
                let existing = IdempotencyRecord {
                    request_hash,
                    state: IdempotencyState::parse(&state)
                        .ok_or_else(|| corrupt(format!("bad idempotency state {state:?}")))?,
                    response,
                    expires_at: from_millis(expires)?,
                    in_progress_until: from_millis(in_progress_until)?,
                };
                if is_live(&existing, now) {
                    return Ok(IdempotencyStart::Existing(existing));
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO idempotency
                     (owner, key, request_hash, state, response, expires_ms, in_progress_until_ms)
                 VALUES (?1, ?2, ?3, 'in_progress', NULL, ?4, ?5)",
                params![
                    owner,
                    key,
                    record.request_hash,
                    record.expires_at.timestamp_millis(),
                    record.in_progress_until.timestamp_millis()
                ],
            )
            .map_err(backend)?;
            Ok(IdempotencyStart::Started)
        })
        .await
    }

    async fn complete_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        response: &str,
    ) -> Result<(), StoreError> {
        let (owner, key, response) = (owner.to_string(), key.to_string(), response.to_string());
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE idempotency SET state = 'completed', response = ?3 WHERE owner = ?1 AND key = ?2",
                params![owner, key, response],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn forget_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        let (owner, key) = (owner.to_string(), key.to_string());
        self.in_transaction(move |tx| {
            tx.execute(
                "DELETE FROM idempotency WHERE owner = ?1 AND key = ?2",
                params![owner, key],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
