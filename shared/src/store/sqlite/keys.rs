//! API keys, by their hash.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::select;
use super::SqliteStore;
use crate::domain::{KeyHash, KeyId, KeyName, KeyScopes, UserId};
use crate::store::encoding::{backend, corrupt, parse_timestamp, timestamp};
use crate::store::{ApiKeyRecord, ApiKeys, StoreError};

const KEY_COLUMNS: &str =
    "id, hash, owner, name, prefix, scopes, created_at, expires_at, last_used_at";

#[async_trait]
impl ApiKeys for SqliteStore {
    async fn add_key(&self, key: &ApiKeyRecord, limit: u32) -> Result<(), StoreError> {
        let key = key.clone();
        self.in_transaction(move |tx| {
            let held: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM api_keys WHERE owner = ?1",
                    [key.owner.as_str()],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            if held >= i64::from(limit) {
                return Err(StoreError::QuotaExceeded);
            }
            tx.execute(
                &format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)"),
                params![
                    key.id.as_str(),
                    key.hash.as_str(),
                    key.owner.as_str(),
                    key.name.as_str(),
                    key.prefix,
                    key.scopes.joined(),
                    timestamp(key.created_at),
                    key.expires_at.map(timestamp),
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn keys_of(&self, owner: Option<&UserId>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let owner = owner.map(|owner| owner.as_str().to_string());
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {KEY_COLUMNS} FROM api_keys
                         WHERE ?1 IS NULL OR owner = ?1 ORDER BY owner, id"
                    ),
                    [owner],
                    StoredKey::read,
                )
            })
            .await?;
        rows.into_iter().map(StoredKey::into_record).collect()
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = hash.as_str().to_string();
        let row = self
            .with_connection(move |connection| {
                connection
                    .query_row(
                        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?1"),
                        [hash],
                        StoredKey::read,
                    )
                    .optional()
                    .map_err(backend)
            })
            .await?;
        row.map(StoredKey::into_record).transpose()
    }

    async fn revoke_key(&self, owner: Option<&UserId>, id: &KeyId) -> Result<bool, StoreError> {
        let (owner, id) = (
            owner.map(|o| o.as_str().to_string()),
            id.as_str().to_string(),
        );
        self.in_transaction(move |tx| {
            tx.execute(
                "DELETE FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)",
                params![id, owner],
            )
            .map(|removed| removed > 0)
            .map_err(backend)
        })
        .await
    }

    async fn key_used(&self, hash: &KeyHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = hash.as_str().to_string();
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE api_keys SET last_used_at = ?2
                 WHERE hash = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
                params![hash, timestamp(at), timestamp(at - Duration::minutes(1))],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

/// An api_keys row as stored.
struct StoredKey([Option<String>; 9]);

impl StoredKey {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        let mut cells: [Option<String>; 9] = Default::default();
        for (index, cell) in cells.iter_mut().enumerate() {
            *cell = row.get(index)?;
        }
        Ok(Self(cells))
    }

    fn into_record(self) -> Result<ApiKeyRecord, StoreError> {
        let [id, hash, owner, name, prefix, scopes, created_at, expires_at, last_used_at] = self.0;
        let text = |cell: Option<String>, what: &str| {
            cell.ok_or_else(|| corrupt(format!("an API key without its {what}")))
        };
        let moment = |cell: Option<String>| cell.as_deref().map(parse_timestamp).transpose();
        Ok(ApiKeyRecord {
            id: KeyId::parse(&text(id, "id")?).ok_or_else(|| corrupt("bad key id"))?,
            hash: KeyHash::parse(&text(hash, "hash")?).ok_or_else(|| corrupt("bad key hash"))?,
            owner: UserId::parse(&text(owner, "owner")?).map_err(corrupt)?,
            name: KeyName::parse(&text(name, "name")?).map_err(corrupt)?,
            prefix: text(prefix, "prefix")?,
            scopes: KeyScopes::parse(text(scopes, "scopes")?.split(',')).map_err(corrupt)?,
            created_at: parse_timestamp(&text(created_at, "creation")?)?,
            expires_at: moment(expires_at)?,
            last_used_at: moment(last_used_at)?,
        })
    }
}
