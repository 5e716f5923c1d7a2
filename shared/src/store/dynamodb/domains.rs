//! Each domain's readiness at each provider as last checked:
//! `DOMAINS` / `READY#<domain>#<provider>`, one Query for the policy route.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::items::{n, s, Item, ItemExt};
use super::DynamoStore;
use crate::domain::mail_dns::DomainReading;
use crate::store::encoding::{backend, domain_name, parse_timestamp, provider_kind, timestamp};
use crate::store::{DomainReadings, StoreError};

const PARTITION: &str = "DOMAINS";
const PREFIX: &str = "READY#";

#[async_trait]
impl DomainReadings for DynamoStore {
    async fn record_domain_reading(
        &self,
        reading: &DomainReading,
    ) -> Result<Option<DomainReading>, StoreError> {
        let mut item = HashMap::from([
            ("pk".into(), s(PARTITION)),
            (
                "sk".into(),
                s(format!(
                    "{PREFIX}{}#{}",
                    reading.domain,
                    reading.provider.as_str()
                )),
            ),
            ("domain".into(), s(reading.domain.as_str())),
            ("provider".into(), s(reading.provider.as_str())),
            ("ready".into(), n(u8::from(reading.ready))),
            ("failing".into(), n(reading.failing)),
            ("at".into(), s(timestamp(reading.at))),
        ]);
        if let Some(reason) = &reading.reason {
            item.insert("reason".into(), s(reason));
        }
        // The old item comes back with the same write: two checks at once
        // cannot both see the domain stop being ready.
        let replaced = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        replaced
            .attributes()
            .filter(|old| !old.is_empty())
            .map(reading_from)
            .transpose()
    }

    async fn domain_readings(&self) -> Result<Vec<DomainReading>, StoreError> {
        let found = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :domains AND begins_with(sk, :ready)")
            .expression_attribute_values(":domains", s(PARTITION))
            .expression_attribute_values(":ready", s(PREFIX))
            .send()
            .await
            .map_err(backend)?;
        found.items().iter().map(reading_from).collect()
    }
}

fn reading_from(item: &HashMap<String, AttributeValue>) -> Result<DomainReading, StoreError> {
    let item: &Item = item;
    Ok(DomainReading {
        domain: domain_name(item.text("domain")?)?,
        provider: provider_kind(item.text("provider")?)?,
        ready: item.number::<u8>("ready")? == 1,
        reason: item.optional_text("reason").map(str::to_string),
        failing: item.number("failing")?,
        at: parse_timestamp(item.text("at")?)?,
    })
}
