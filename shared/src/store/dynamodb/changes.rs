//! An account's changes after its create: the hold that serialises them, their outcomes, the rotation allowance.

use crate::store::Accounts;
use async_trait::async_trait;

use super::items::{
    account_index_keys, account_key, claim_key, lift_key, n, owned_from_item, rotations_key, s,
    ItemExt, CONTENDED_TRIES, LIFTS_PARTITION, QUOTA_RETENTION,
};
use super::DynamoStore;
use super::{Guard, TransactionOutcome};
use crate::domain::{
    next_utc_midnight, AccountStatus, EmailAddress, Suspension, SuspensionReason, UserId,
};
use crate::store::encoding::{backend, corrupt, encode_suspension, parse_timestamp, timestamp};
use crate::store::{
    AccountChange, AccountHold, AuditAction, AuditSubject, Changes, DueLift, HoldRequest,
    NewCredentials, OwnedAccount, StoreError,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveTime, Utc};

#[async_trait]
impl Changes for DynamoStore {
    async fn hold_account(&self, hold: &HoldRequest) -> Result<OwnedAccount, StoreError> {
        let held = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(account_key(&hold.owner, &hold.address)))
            .update_expression("SET hold_token = :token, hold_lease_ms = :lease")
            .condition_expression(
                "#status IN (:active, :disabled, :suspended) AND \
                 (attribute_not_exists(hold_lease_ms) OR hold_lease_ms <= :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
            .expression_attribute_values(":suspended", s("suspended"))
            .expression_attribute_values(":token", s(&hold.token))
            .expression_attribute_values(":lease", n(hold.lease_expires_at.timestamp_millis()))
            .expression_attribute_values(":now", n(hold.started_at.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match held.map_err(|error| error.into_service_error()) {
            Ok(output) => owned_from_item(&output.attributes.unwrap_or_default()),
            // Refused: no such created account, or another hold has it.
            Err(UpdateItemError::ConditionalCheckFailedException(_)) => {
                match self.owned_account(&hold.owner, &hold.address).await? {
                    None => Err(StoreError::AccountNotFound),
                    Some(_) => Err(StoreError::AccountBusy),
                }
            }
            Err(other) => Err(backend(other)),
        }
    }

    async fn finish_removal(
        &self,
        hold: &AccountHold,
        quarantine_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let account = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(
                &hold.request.owner,
                &hold.request.address,
            )))
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.request.token))
            .build()
            .expect("table and key are set");
        let claim = if quarantine_until > hold.request.started_at {
            let quarantine = Update::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&hold.request.address)))
                .update_expression(
                    "SET #state = :quarantined, lease_expires_ms = :until, #token = :token, \
                     request_id = :request, #ttl = :ttl",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#token", "token")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":quarantined", s("quarantined"))
                .expression_attribute_values(":until", n(quarantine_until.timestamp_millis()))
                .expression_attribute_values(":token", s(&hold.request.token))
                .expression_attribute_values(":request", s(&hold.request.request_id))
                .expression_attribute_values(":ttl", n(quarantine_until.timestamp()))
                .build()
                .expect("table, key and expression are set");
            TransactWriteItem::builder().update(quarantine).build()
        } else {
            let free = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&hold.request.address)))
                .build()
                .expect("table and key are set");
            TransactWriteItem::builder().delete(free).build()
        };
        let mut items = vec![
            (
                TransactWriteItem::builder().delete(account).build(),
                Guard::Claim,
            ),
            (claim, Guard::Unconditional),
        ];
        items.extend(self.audit_writes(hold, AuditAction::Deleted, hold.request.started_at));
        self.transact_under_token(items).await
    }

    async fn finish_change(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(
                &hold.request.owner,
                &hold.request.address,
            )))
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.request.token))
            .expression_attribute_values(":at", s(timestamp(hold.request.started_at)));
        let set_status = |update: UpdateBuilder, status: AccountStatus| {
            update
                .update_expression(
                    "SET #status = :status, updated_at = :at REMOVE hold_token, hold_lease_ms",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
        };
        let update = match change {
            AccountChange::Transferred { to, credentials } => {
                return self.finish_transfer(hold, to, credentials.as_ref()).await
            }
            AccountChange::CredentialsRotated(NewCredentials {
                smtp_username,
                provider_ref,
            }) => update
                .update_expression(
                    "SET smtp_username = :username, provider_ref = :provider_ref, \
                     updated_at = :at \
                     ADD credentials_version :one \
                     REMOVE hold_token, hold_lease_ms",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":username", s(smtp_username))
                .expression_attribute_values(":provider_ref", s(provider_ref)),
            AccountChange::Disabled => set_status(update, AccountStatus::Disabled),
            AccountChange::Enabled => set_status(update, AccountStatus::Active),
            AccountChange::Suspended(suspension) => update
                .update_expression(
                    "SET #status = :suspended, suspension = :suspension, updated_at = :at \
                     REMOVE hold_token, hold_lease_ms",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":suspended", s(AccountStatus::Suspended.as_str()))
                .expression_attribute_values(":suspension", s(encode_suspension(suspension))),
            AccountChange::Resumed { counted_from, .. } => {
                let resumed = update
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":active", s(AccountStatus::Active.as_str()));
                match counted_from {
                    None => resumed.update_expression(
                        "SET #status = :active, updated_at = :at \
                         REMOVE suspension, hold_token, hold_lease_ms",
                    ),
                    Some(day) => resumed
                        .update_expression(
                            "SET #status = :active, rails_counted_from = :from, updated_at = :at \
                             REMOVE suspension, hold_token, hold_lease_ms",
                        )
                        .expression_attribute_values(":from", s(day.to_string())),
                }
            }
        }
        .build()
        .expect("table, key and expression are set");
        let mut items = vec![(
            TransactWriteItem::builder().update(update).build(),
            Guard::Claim,
        )];
        // A send-limit suspension waits in LIFTS until it lifts.
        let lift = |suspension: &Suspension| DueLift {
            owner: hold.request.owner.clone(),
            address: hold.request.address.clone(),
            lifts_at: next_utc_midnight(suspension.since),
        };
        match change {
            AccountChange::Suspended(suspension)
                if suspension.reason == SuspensionReason::SendLimit =>
            {
                let mut item = lift_key(&lift(suspension));
                item.insert("owner".into(), s(hold.request.owner.as_str()));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .expect("table and item are set");
                items.push((
                    TransactWriteItem::builder().put(put).build(),
                    Guard::Unconditional,
                ));
            }
            AccountChange::Resumed { lifted, .. }
                if lifted.reason == SuspensionReason::SendLimit =>
            {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(lift_key(&lift(lifted))))
                    .build()
                    .expect("table and key are set");
                items.push((
                    TransactWriteItem::builder().delete(delete).build(),
                    Guard::Unconditional,
                ));
            }
            _ => {}
        }
        items.extend(self.audit_writes(
            hold,
            hold.request.operation.done(),
            hold.request.started_at,
        ));
        self.transact_under_token(items).await
    }

    async fn release_hold(
        &self,
        hold: &AccountHold,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let release = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(
                &hold.request.owner,
                &hold.request.address,
            )))
            .update_expression("REMOVE hold_token, hold_lease_ms")
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.request.token))
            .build()
            .expect("table, key and expression are set");
        let mut items = vec![(
            TransactWriteItem::builder().update(release).build(),
            Guard::Optional,
        )];
        if let Some(error) = error {
            items.push((
                self.audit_put(
                    hold,
                    hold.request.operation.failed(),
                    hold.request.started_at,
                    Some(error),
                ),
                Guard::Unconditional,
            ));
        }
        self.transact(items).await.map(drop)
    }

    async fn count_rotation(
        &self,
        owner: &UserId,
        day: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        let expires = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(corrupt)?
            .and_time(NaiveTime::MIN)
            .and_utc()
            + QUOTA_RETENTION;
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(rotations_key(owner, day)))
            .update_expression("ADD used :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":ttl", n(expires.timestamp()))
            .send()
            .await;
        match counted.map_err(|error| error.into_service_error()) {
            Ok(_) => Ok(()),
            Err(UpdateItemError::ConditionalCheckFailedException(_)) => {
                Err(StoreError::QuotaExceeded)
            }
            Err(other) => Err(backend(other)),
        }
    }

    async fn refund_rotation(&self, owner: &UserId, day: &str) -> Result<(), StoreError> {
        let refunded = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(rotations_key(owner, day)))
            .update_expression("ADD used :minus_one")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match refunded.map_err(|error| error.into_service_error()) {
            Ok(_) | Err(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
            Err(other) => Err(backend(other)),
        }
    }

    async fn due_lifts(&self, now: DateTime<Utc>) -> Result<Vec<DueLift>, StoreError> {
        let due = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :lifts AND sk <= :now")
            .expression_attribute_values(":lifts", s(LIFTS_PARTITION))
            // Past every `<time>#<address>` of this instant.
            .expression_attribute_values(":now", s(format!("{}#~", timestamp(now))))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        due.items()
            .iter()
            .map(|item| {
                let (at, address) = item
                    .text("sk")?
                    .split_once('#')
                    .ok_or_else(|| corrupt("bad lift key"))?;
                Ok(DueLift {
                    owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
                    address: EmailAddress::parse(address).map_err(corrupt)?,
                    lifts_at: parse_timestamp(at)?,
                })
            })
            .collect()
    }

    async fn forget_lift(&self, lift: &DueLift) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(lift_key(lift)))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl DynamoStore {
    /// The account item moves to `to`'s partition (a key cannot change):
    /// the old item is deleted under the hold and unchanged counters, the
    /// new one written, the claim handed over, the transfer audited, all in
    /// one transaction. A report counted in between changes the counters:
    /// the move is read and tried again.
    async fn finish_transfer(
        &self,
        hold: &AccountHold,
        to: &UserId,
        credentials: Option<&NewCredentials>,
    ) -> Result<(), StoreError> {
        let request = &hold.request;
        let old_key = account_key(&request.owner, &request.address);
        for _ in 0..CONTENDED_TRIES {
            let Some(mut item) = self.consistent_get(old_key.clone()).await? else {
                return Err(StoreError::ReservationLost);
            };
            if item.optional_text("hold_token") != Some(request.token.as_str()) {
                return Err(StoreError::ReservationLost);
            }
            let counted_at = item.optional_text("stats_updated_at").map(str::to_string);
            item.extend(account_key(to, &request.address));
            item.extend(account_index_keys(&request.address));
            item.insert("owner".into(), s(to.as_str()));
            item.insert("updated_at".into(), s(timestamp(request.started_at)));
            item.remove("hold_token");
            item.remove("hold_lease_ms");
            if let Some(credentials) = credentials {
                let version: u32 = match item.get("credentials_version") {
                    None => 0,
                    Some(_) => item.number("credentials_version")?,
                };
                item.insert("credentials_version".into(), n(version + 1));
                item.insert("smtp_username".into(), s(&credentials.smtp_username));
                item.insert("provider_ref".into(), s(&credentials.provider_ref));
            }
            let unchanged_counters = match &counted_at {
                Some(_) => "stats_updated_at = :counted_at",
                None => "attribute_not_exists(stats_updated_at)",
            };
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(old_key.clone()))
                .condition_expression(format!("hold_token = :token AND {unchanged_counters}"))
                .expression_attribute_values(":token", s(&request.token));
            if let Some(counted_at) = &counted_at {
                delete = delete.expression_attribute_values(":counted_at", s(counted_at));
            }
            // A create of the address that once failed for `to` left its record.
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR #status = :failed")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":failed", s("failed"))
                .build()
                .expect("table and item are set");
            let claim = Update::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&request.address)))
                .update_expression("SET #owner = :to")
                .condition_expression("#state = :active AND #owner = :from")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":to", s(to.as_str()))
                .expression_attribute_values(":from", s(request.owner.as_str()))
                .expression_attribute_values(":active", s("active"))
                .build()
                .expect("table, key and expression are set");
            let mut subject = AuditSubject::from(hold);
            subject.new_owner = Some(to);
            let mut items = vec![
                (
                    TransactWriteItem::builder()
                        .delete(delete.build().expect("table and key are set"))
                        .build(),
                    Guard::Claim,
                ),
                (TransactWriteItem::builder().put(put).build(), Guard::Claim),
                (
                    TransactWriteItem::builder().update(claim).build(),
                    Guard::Claim,
                ),
            ];
            items.extend(self.audit_writes(subject, request.operation.done(), request.started_at));
            if let TransactionOutcome::Committed = self.transact(items).await? {
                return Ok(());
            }
        }
        Err(StoreError::Contended)
    }
}
