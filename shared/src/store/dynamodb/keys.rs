//! API keys, by their hash. A key is two items: `APIKEY#<hash>` (what a
//! request's key is looked up by, one `GetItem`) and `APIKEYID#<id>`
//! (its owner and hash, by id; in the admin index under `KEYS`, by owner
//! then id, which lists an owner's keys or everyone's); and each owner
//! has a count of keys, `USER#<owner>` / `KEYS`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};

use super::items::{n, s, Item, ItemExt};
use super::{DynamoStore, Guard, TransactionOutcome};
use crate::domain::{KeyHash, KeyId, KeyName, KeyScopes, UserId};
use crate::store::encoding::{backend, corrupt, parse_timestamp, timestamp};
use crate::store::{ApiKeyRecord, ApiKeys, StoreError};

const KEYS_PARTITION: &str = "KEYS";

fn record_key(hash: &KeyHash) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("APIKEY#{}", hash.as_str()))),
        ("sk".into(), s("APIKEY")),
    ])
}

fn id_key(id: &KeyId) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("APIKEYID#{id}"))),
        ("sk".into(), s("APIKEYID")),
    ])
}

fn count_key(owner: &UserId) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{owner}"))),
        ("sk".into(), s("KEYS")),
    ])
}

#[async_trait]
impl ApiKeys for DynamoStore {
    async fn add_key(&self, key: &ApiKeyRecord, limit: u32) -> Result<(), StoreError> {
        let mut record = record_key(&key.hash);
        record.extend([
            ("id".into(), s(key.id.as_str())),
            ("owner".into(), s(key.owner.as_str())),
            ("name".into(), s(key.name.as_str())),
            ("prefix".into(), s(&key.prefix)),
            ("scopes".into(), s(key.scopes.joined())),
            ("created_at".into(), s(timestamp(key.created_at))),
        ]);
        if let Some(expires) = key.expires_at {
            record.insert("expires_at".into(), s(timestamp(expires)));
        }
        let mut by_id = id_key(&key.id);
        by_id.extend([
            ("owner".into(), s(key.owner.as_str())),
            ("hash".into(), s(key.hash.as_str())),
            ("admin_pk".into(), s(KEYS_PARTITION)),
            ("admin_sk".into(), s(format!("{}#{}", key.owner, key.id))),
        ]);
        let new = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table and item are set")
        };
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(count_key(&key.owner)))
            .update_expression("ADD used :one")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (
                TransactWriteItem::builder().put(new(record)).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().put(new(by_id)).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().update(count).build(),
                Guard::Quota,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(()),
            TransactionOutcome::Refused(Guard::Quota) => Err(StoreError::QuotaExceeded),
            TransactionOutcome::Refused(_) => Err(corrupt("a new key's id or hash is taken")),
        }
    }

    /// A `Query` of the admin index (an owner's range, or all), then one
    /// `BatchGetItem` per 100 keys.
    async fn keys_of(&self, owner: Option<&UserId>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let (low, high) = match owner {
            Some(owner) => (format!("{owner}#"), format!("{owner}#~")),
            None => ("!".to_string(), "~".to_string()),
        };
        let mut hashes = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("admin")
                .key_condition_expression("admin_pk = :keys AND admin_sk BETWEEN :low AND :high")
                .expression_attribute_values(":keys", s(KEYS_PARTITION))
                .expression_attribute_values(":low", s(low.as_str()))
                .expression_attribute_values(":high", s(high.as_str()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                let hash =
                    KeyHash::parse(item.text("hash")?).ok_or_else(|| corrupt("bad key hash"))?;
                hashes.push(record_key(&hash));
            }
            match output.last_evaluated_key {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let mut keys = self
            .batch_get(hashes)
            .await?
            .iter()
            .map(key_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| {
            (a.owner.as_str(), a.id.as_str()).cmp(&(b.owner.as_str(), b.id.as_str()))
        });
        Ok(keys)
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.consistent_get(record_key(hash))
            .await?
            .as_ref()
            .map(key_from_item)
            .transpose()
    }

    async fn revoke_key(&self, owner: Option<&UserId>, id: &KeyId) -> Result<bool, StoreError> {
        let Some(found) = self.consistent_get(id_key(id)).await? else {
            return Ok(false);
        };
        let held_by = UserId::parse(found.text("owner")?).map_err(corrupt)?;
        if owner.is_some_and(|owner| *owner != held_by) {
            return Ok(false);
        }
        let hash = KeyHash::parse(found.text("hash")?).ok_or_else(|| corrupt("bad key hash"))?;
        let delete = |key: Item| {
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(pk)")
                .build()
                .expect("table and key are set")
        };
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(count_key(&held_by)))
            .update_expression("ADD used :minus_one")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (
                TransactWriteItem::builder()
                    .delete(delete(id_key(id)))
                    .build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder()
                    .delete(delete(record_key(&hash)))
                    .build(),
                Guard::Optional,
            ),
            (
                TransactWriteItem::builder().update(count).build(),
                Guard::Optional,
            ),
        ];
        // Refused: another revoke of the same key got there first.
        Ok(matches!(
            self.transact(items).await?,
            TransactionOutcome::Committed
        ))
    }

    async fn key_used(&self, hash: &KeyHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(record_key(hash)))
            .update_expression("SET last_used_at = :at")
            .condition_expression(
                "attribute_exists(pk) AND \
                 (attribute_not_exists(last_used_at) OR last_used_at <= :minute_ago)",
            )
            .expression_attribute_values(":at", s(timestamp(at)))
            .expression_attribute_values(":minute_ago", s(timestamp(at - Duration::minutes(1))))
            .send()
            .await;
        match written.map_err(|error| error.into_service_error()) {
            Ok(_) => Ok(()),
            // Noted less than a minute ago, or revoked meanwhile: nothing to note.
            Err(error) if error.is_conditional_check_failed_exception() => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }
}

fn key_from_item(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let moment = |name: &str| item.optional_text(name).map(parse_timestamp).transpose();
    let hash = item
        .text("pk")?
        .strip_prefix("APIKEY#")
        .and_then(KeyHash::parse)
        .ok_or_else(|| corrupt("bad key item"))?;
    Ok(ApiKeyRecord {
        id: KeyId::parse(item.text("id")?).ok_or_else(|| corrupt("bad key id"))?,
        owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
        name: KeyName::parse(item.text("name")?).map_err(corrupt)?,
        prefix: item.text("prefix")?.to_string(),
        hash,
        scopes: KeyScopes::parse(item.text("scopes")?.split(',')).map_err(corrupt)?,
        created_at: parse_timestamp(item.text("created_at")?)?,
        expires_at: moment("expires_at")?,
        last_used_at: moment("last_used_at")?,
    })
}
