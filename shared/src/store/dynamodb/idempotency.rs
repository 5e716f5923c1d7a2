//! `Idempotency-Key` records. A record that keeps a sealed password is in
//! the admin index under the day it expires (`SEALED#<day>`, by expiry),
//! so the reconciler finds and drops the passwords whose window is over.

use async_trait::async_trait;

use super::items::{idempotency_from_item, idempotency_key, n, s};
use super::DynamoStore;
use crate::domain::{IdempotencyKey, UserId};
use crate::store::encoding::backend;
use crate::store::{
    is_live, Idempotency, IdempotencyRecord, IdempotencyStart, IdempotencyState, IdempotentAnswer,
    StoreError,
};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Duration, Utc};

/// How far back the sweep looks for days of expired passwords: TTL
/// deletion removes any record a longer reconciler outage left behind.
const SWEPT_DAYS: i64 = 7;

fn sealed_partition(expires_at: DateTime<Utc>) -> String {
    format!("SEALED#{}", expires_at.date_naive())
}

/// Sorts by expiry: milliseconds, zero-padded.
fn sealed_position(expires_at: DateTime<Utc>) -> String {
    format!("{:015}", expires_at.timestamp_millis())
}

#[async_trait]
impl Idempotency for DynamoStore {
    async fn start_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError> {
        let mut item = idempotency_key(owner, key);
        item.extend([
            ("request_hash".into(), s(&record.request_hash)),
            ("state".into(), s(IdempotencyState::InProgress.as_str())),
            ("expires_ms".into(), n(record.expires_at.timestamp_millis())),
            (
                "in_progress_until_ms".into(),
                n(record.in_progress_until.timestamp_millis()),
            ),
            ("ttl".into(), n(record.expires_at.timestamp())),
        ]);
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_ms <= :now \
                 OR (#state = :in_progress AND in_progress_until_ms <= :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":in_progress", s(IdempotencyState::InProgress.as_str()))
            // The live record comes back with the refusal: no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let refused = match written {
            Ok(_) => return Ok(IdempotencyStart::Started),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(refused) => refused,
                other => return Err(backend(other)),
            },
        };
        let existing = match refused.item() {
            Some(item) => idempotency_from_item(item)?,
            None => {
                match self
                    .consistent_get(idempotency_key(owner, key))
                    .await?
                    .as_ref()
                {
                    Some(item) => idempotency_from_item(item)?,
                    // Expired and deleted in between: run it as new.
                    None => return Box::pin(self.start_idempotent(owner, key, record, now)).await,
                }
            }
        };
        debug_assert!(is_live(&existing, now));
        Ok(IdempotencyStart::Existing(existing))
    }

    async fn complete_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        answer: &IdempotentAnswer,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(owner, key)))
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":completed", s(IdempotencyState::Completed.as_str()))
            .expression_attribute_values(":response", s(&answer.response))
            .condition_expression("attribute_exists(pk)");
        update = match &answer.sealed_password {
            None => update.update_expression("SET #state = :completed, #response = :response"),
            Some(sealed) => update
                .update_expression(
                    "SET #state = :completed, #response = :response, \
                     sealed_password = :sealed, admin_pk = :day, admin_sk = :position",
                )
                .expression_attribute_values(":sealed", s(sealed.as_str()))
                .expression_attribute_values(":day", s(sealed_partition(answer.expires_at)))
                .expression_attribute_values(":position", s(sealed_position(answer.expires_at))),
        };
        update.send().await.map_err(backend)?;
        Ok(())
    }

    async fn drop_expired_passwords(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut dropped = 0;
        for days_ago in (0..=SWEPT_DAYS).rev() {
            let partition = sealed_partition(now - Duration::days(days_ago));
            let mut start = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("admin")
                    .key_condition_expression("admin_pk = :day AND admin_sk <= :now")
                    .expression_attribute_values(":day", s(&partition))
                    .expression_attribute_values(":now", s(sealed_position(now)))
                    .projection_expression("pk, sk")
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(backend)?;
                for item in page.items() {
                    let key = [("pk", item.get("pk")), ("sk", item.get("sk"))]
                        .into_iter()
                        .filter_map(|(name, value)| Some((name.to_string(), value?.clone())))
                        .collect();
                    let removed = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key))
                        .update_expression("REMOVE sealed_password, admin_pk, admin_sk")
                        // A record started again under the key since has none.
                        .condition_expression("expires_ms <= :now")
                        .expression_attribute_values(":now", n(now.timestamp_millis()))
                        .send()
                        .await;
                    match removed.map_err(|error| error.into_service_error()) {
                        Ok(_) => dropped += 1,
                        Err(UpdateItemError::ConditionalCheckFailedException(_)) => {}
                        Err(other) => return Err(backend(other)),
                    }
                }
                start = page.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(dropped)
    }

    async fn forget_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(owner, key)))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
