//! The outbox: `OUTBOX` / position, a copy of each announced change's
//! audit entry, written in the change's transaction (`audit_writes`) and
//! deleted once published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::items::{audit_from_item, n, outbox_key, s, ItemExt, OUTBOX_PARTITION};
use super::DynamoStore;
use crate::store::encoding::backend;
use crate::store::{Outbox, OutboxEntry, StoreError};

#[async_trait]
impl Outbox for DynamoStore {
    async fn lease_unpublished(
        &self,
        limit: usize,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let waiting = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :outbox")
            .filter_expression("leased_until_ms <= :now")
            .expression_attribute_values(":outbox", s(OUTBOX_PARTITION))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(backend)?;
        let mut leased = Vec::new();
        for item in waiting.items() {
            let position = item.text("sk")?.to_string();
            let lease = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(outbox_key(&position)))
                .update_expression("SET leased_until_ms = :until")
                .condition_expression("attribute_exists(pk) AND leased_until_ms <= :now")
                .expression_attribute_values(":until", n(until.timestamp_millis()))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .send()
                .await;
            match lease.map_err(|error| error.into_service_error()) {
                Ok(_) => leased.push(OutboxEntry {
                    position,
                    entry: audit_from_item(item)?,
                }),
                // Another publisher leased it (or published it) meanwhile.
                Err(error) if error.is_conditional_check_failed_exception() => {}
                Err(error) => return Err(backend(error)),
            }
        }
        Ok(leased)
    }

    async fn published(&self, positions: &[String]) -> Result<(), StoreError> {
        for position in positions {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(outbox_key(position)))
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
