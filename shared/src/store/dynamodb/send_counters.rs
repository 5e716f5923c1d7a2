//! Provider reports counted once, into an address's day and month.

use std::collections::HashMap;

use super::items::ItemExt;
use crate::store::SEND_EVENT_RETENTION;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Put;
use chrono::Datelike;

use super::items::{account_key, claim_key, daily_sends_key, daily_sends_partition, n, s};
use super::oversight::daily_sends_from_item;
use super::DynamoStore;
use super::{Guard, TransactionOutcome};
use crate::domain::{utc_month, EmailAddress, SendCounts, UserId};
use crate::store::encoding::{backend, corrupt, daily_count_name, timestamp};
use crate::store::{SendCounters, SendEvent, SendEventOutcome, StoreError};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

#[async_trait]
impl SendCounters for DynamoStore {
    /// The account is found by its claim (the address's owner). Its
    /// counters are attributes named after their period and kind
    /// (`day_2026-11-25_sends`), added to atomically in the transaction
    /// that keeps the report's key: a burst of reports never contends on a
    /// read. The same kind's counters of the day and month before are
    /// removed on the way, so the item keeps about two of each.
    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError> {
        let claim = self.consistent_get(claim_key(&event.address)).await?;
        let Some(claim) = claim.filter(|claim| claim.optional_text("state") == Some("active"))
        else {
            return Ok(SendEventOutcome::NotOurs);
        };
        let owner = UserId::parse(claim.text("owner")?).map_err(corrupt)?;
        let provider = claim.text("provider")?;
        let seen = self.event_put(&event.event_key, event.recorded_at);
        let kind = event.kind.as_str();
        let day = event.at.date_naive();
        let month = utc_month(event.at);
        let previous_month = utc_month(
            day.with_day(1)
                .and_then(|first| first.pred_opt())
                .unwrap_or(day)
                .and_time(NaiveTime::MIN)
                .and_utc(),
        );
        let previous_day = day.pred_opt().unwrap_or(day);
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(&owner, &event.address)))
            .update_expression(
                "ADD #day :count, #month :count SET stats_updated_at = :now \
                 REMOVE #previous_day, #previous_month",
            )
            .condition_expression("#status IN (:active, :disabled, :suspended)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#day", format!("day_{day}_{kind}"))
            .expression_attribute_names("#month", format!("month_{month}_{kind}"))
            .expression_attribute_names("#previous_day", format!("day_{previous_day}_{kind}"))
            .expression_attribute_names("#previous_month", format!("month_{previous_month}_{kind}"))
            .expression_attribute_values(":count", n(event.count))
            .expression_attribute_values(":now", s(timestamp(event.recorded_at)))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
            .expression_attribute_values(":suspended", s("suspended"))
            .build()
            .expect("table, key and expression are set");
        let daily = Update::builder()
            .table_name(&self.table)
            .set_key(Some(daily_sends_key(&event.address, day)))
            .update_expression(
                "ADD #count :count SET #owner = :owner, #provider = :provider, \
                 #address = :address, #day = :day, admin_pk = :partition, \
                 admin_sk = :position, #ttl = :ttl",
            )
            .expression_attribute_names("#count", daily_count_name(event.kind))
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#provider", "provider")
            .expression_attribute_names("#address", "address")
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":count", n(event.count))
            .expression_attribute_values(":owner", s(owner.as_str()))
            .expression_attribute_values(":provider", s(provider))
            .expression_attribute_values(":address", s(event.address.to_string()))
            .expression_attribute_values(":day", s(day.to_string()))
            .expression_attribute_values(":partition", s(daily_sends_partition(day)))
            .expression_attribute_values(":position", s(format!("{day}#{}", event.address)))
            .expression_attribute_values(":ttl", n((event.at + self.audit_retention).timestamp()))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (TransactWriteItem::builder().put(seen).build(), Guard::Event),
            (
                TransactWriteItem::builder().update(count).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().update(daily).build(),
                Guard::Unconditional,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(SendEventOutcome::Counted),
            TransactionOutcome::Refused(Guard::Event) => Ok(SendEventOutcome::Duplicate),
            TransactionOutcome::Refused(_) => Ok(SendEventOutcome::NotOurs),
        }
    }

    async fn daily_counts(
        &self,
        address: &EmailAddress,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, SendCounts)>, StoreError> {
        // At most a week of days: one page.
        let days = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :address AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":address", s(format!("EMAIL#{address}")))
            .expression_attribute_values(":from", s(format!("SENDS#{from}")))
            .expression_attribute_values(":to", s(format!("SENDS#{to}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        days.items()
            .iter()
            .map(|item| daily_sends_from_item(item).map(|sends| (sends.day, sends.counts)))
            .collect()
    }

    async fn remember_event(
        &self,
        event_key: &str,
        recorded_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let items = vec![(
            TransactWriteItem::builder()
                .put(self.event_put(event_key, recorded_at))
                .build(),
            Guard::Event,
        )];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(true),
            TransactionOutcome::Refused(_) => Ok(false),
        }
    }
}

impl DynamoStore {
    /// A report's key, written only if it is not there yet; TTL removes it after a week.
    fn event_put(&self, event_key: &str, recorded_at: DateTime<Utc>) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(HashMap::from([
                ("pk".to_string(), s(format!("EVENT#{event_key}"))),
                ("sk".to_string(), s("EVENT")),
                (
                    "ttl".to_string(),
                    n((recorded_at + SEND_EVENT_RETENTION).timestamp()),
                ),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set")
    }
}
