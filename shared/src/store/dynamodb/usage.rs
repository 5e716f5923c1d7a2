//! Each provider's slots as last read: `PROVIDERS` / `USAGE#<provider>`,
//! one Query for the policy route.

use std::collections::HashMap;

use async_trait::async_trait;

use super::items::{n, s, ItemExt};
use super::DynamoStore;
use crate::domain::{RecordedUsage, Usage};
use crate::store::encoding::{backend, parse_timestamp, provider_kind, timestamp};
use crate::store::{StoreError, UsageReadings};

const PARTITION: &str = "PROVIDERS";
const PREFIX: &str = "USAGE#";

#[async_trait]
impl UsageReadings for DynamoStore {
    async fn record_usage(&self, reading: &RecordedUsage) -> Result<(), StoreError> {
        let at = timestamp(reading.at);
        let item = HashMap::from([
            ("pk".into(), s(PARTITION)),
            (
                "sk".into(),
                s(format!("{PREFIX}{}", reading.provider.as_str())),
            ),
            ("provider".into(), s(reading.provider.as_str())),
            ("used".into(), n(reading.usage.used)),
            ("slots".into(), n(reading.usage.limit)),
            ("at".into(), s(&at)),
        ]);
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #at <= :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        match written.map_err(|error| error.into_service_error()) {
            Ok(_) => Ok(()),
            // A newer reading is kept already.
            Err(error) if error.is_conditional_check_failed_exception() => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }

    async fn recorded_usage(&self) -> Result<Vec<RecordedUsage>, StoreError> {
        let found = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :providers AND begins_with(sk, :usage)")
            .expression_attribute_values(":providers", s(PARTITION))
            .expression_attribute_values(":usage", s(PREFIX))
            .send()
            .await
            .map_err(backend)?;
        found
            .items()
            .iter()
            .map(|item| {
                Ok(RecordedUsage {
                    provider: provider_kind(item.text("provider")?)?,
                    usage: Usage {
                        used: item.number("used")?,
                        limit: item.number("slots")?,
                    },
                    at: parse_timestamp(item.text("at")?)?,
                })
            })
            .collect()
    }
}
