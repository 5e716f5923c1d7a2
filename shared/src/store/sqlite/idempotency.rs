//! `Idempotency-Key` records.

use crate::store::encoding::from_millis;
use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::SqliteStore;
use crate::domain::SealedPassword;
use crate::domain::{IdempotencyKey, UserId};
use crate::store::encoding::{backend, corrupt};
use crate::store::{
    is_live, Idempotency, IdempotencyRecord, IdempotencyStart, IdempotencyState, IdempotentAnswer,
    StoreError,
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
                    "SELECT request_hash, state, response, expires_ms, in_progress_until_ms,
                            sealed_password
                     FROM idempotency WHERE owner = ?1 AND key = ?2",
                    params![owner, key],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, i64>(4)?,
                            row.get::<_, Option<String>>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)?;
            if let Some((request_hash, state, response, expires, in_progress_until, sealed)) =
                existing
            {
                let existing = IdempotencyRecord {
                    request_hash,
                    state: IdempotencyState::parse(&state)
                        .ok_or_else(|| corrupt(format!("bad idempotency state {state:?}")))?,
                    response,
                    sealed_password: sealed.map(SealedPassword::new),
                    expires_at: from_millis(expires)?,
                    in_progress_until: from_millis(in_progress_until)?,
                };
                if is_live(&existing, now) {
                    return Ok(IdempotencyStart::Existing(existing));
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO idempotency
                     (owner, key, request_hash, state, response, sealed_password,
                      expires_ms, in_progress_until_ms)
                 VALUES (?1, ?2, ?3, 'in_progress', NULL, NULL, ?4, ?5)",
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
        answer: &IdempotentAnswer,
    ) -> Result<(), StoreError> {
        let (owner, key, answer) = (owner.to_string(), key.to_string(), answer.clone());
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE idempotency SET state = 'completed', response = ?3, sealed_password = ?4
                 WHERE owner = ?1 AND key = ?2",
                params![
                    owner,
                    key,
                    answer.response,
                    answer.sealed_password.as_ref().map(SealedPassword::as_str)
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn drop_expired_passwords(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE idempotency SET sealed_password = NULL
                 WHERE sealed_password IS NOT NULL AND expires_ms <= ?1",
                params![now.timestamp_millis()],
            )
            .map_err(backend)
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
