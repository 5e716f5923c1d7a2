//! `Idempotency-Key` records.

use async_trait::async_trait;

use super::items::{idempotency_from_item, idempotency_key, n, s};
use super::DynamoStore;
use crate::domain::{IdempotencyKey, UserId};
use crate::store::encoding::backend;
use crate::store::{
    is_live, Idempotency, IdempotencyRecord, IdempotencyStart, IdempotencyState, StoreError,
};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};

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
        response: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(owner, key)))
            .update_expression("SET #state = :completed, #response = :response")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":completed", s(IdempotencyState::Completed.as_str()))
            .expression_attribute_values(":response", s(response))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(backend)?;
        Ok(())
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
