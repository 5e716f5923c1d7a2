//! The create flow's writes: reserve, activate or release, and the clean-up of abandoned reservations.

use super::items::{lookalike_item_key, QUOTA_RETENTION};
use crate::domain::EmailAddress;
use crate::store::lookalike_key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put};

use super::items::{
    account_index_keys, account_key, audit_item, claim_from_item, claim_key, n, quota_key, s, Item,
};
use super::DynamoStore;
use super::{Guard, TransactionOutcome};
use crate::store::encoding::{backend, timestamp};
use crate::store::{
    Activation, AuditAction, Claim, ClaimState, Reservation, Reservations, StoreError,
};
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

#[async_trait]
impl Reservations for DynamoStore {
    async fn reserve(&self, reservation: &Reservation) -> Result<Option<Reservation>, StoreError> {
        // The expired claim being taken over, and whether its create died
        // (a quarantine that ran out leaves nothing to clean up).
        let mut stale: Option<(Reservation, bool)> = None;
        // A claim that vanishes or changes between our read and our write
        // sends us round again; three rounds is more than any real race needs.
        for _ in 0..3 {
            let items = self.reservation_items(reservation, stale.as_ref().map(|(r, _)| r));
            match self.transact(items).await? {
                TransactionOutcome::Committed => {
                    return Ok(stale.and_then(|(r, abandoned)| abandoned.then_some(r)))
                }
                TransactionOutcome::Refused(Guard::Quota) => return Err(StoreError::QuotaExceeded),
                TransactionOutcome::Refused(_) => {}
            }
            stale = match self.stored_claim(&reservation.address).await? {
                None => None,
                Some((claim, _)) if claim.holds_address_at(reservation.reserved_at) => {
                    return Err(StoreError::AddressTaken)
                }
                Some((claim, expired)) => Some((expired, claim.state == ClaimState::Pending)),
            };
        }
        Err(StoreError::AddressTaken)
    }

    async fn seize(
        &self,
        abandoned: &Reservation,
        seizer: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claim = Update::builder()
            .table_name(&self.table)
            .set_key(Some(claim_key(&abandoned.address)))
            .update_expression("SET #token = :seizer, lease_expires_ms = :lease")
            .condition_expression(
                "#token = :abandoned AND #state = :pending AND lease_expires_ms <= :now",
            )
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":seizer", s(&seizer.token))
            .expression_attribute_values(":abandoned", s(&abandoned.token))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":lease", n(seizer.lease_expires_at.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (
                TransactWriteItem::builder().update(claim).build(),
                Guard::Claim,
            ),
            (self.fail_pending_account(abandoned, now), Guard::Optional),
        ];
        Ok(matches!(
            self.transact(items).await?,
            TransactionOutcome::Committed
        ))
    }

    /// A scan: this runs on a schedule, not per request, and pending claims are few.
    async fn abandoned_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let mut abandoned = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :claim AND #state = :pending AND lease_expires_ms <= :now")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":claim", s("CLAIM"))
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                abandoned.push(claim_from_item(item)?.1);
            }
            match output.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(abandoned),
            }
        }
    }

    async fn activate(
        &self,
        reservation: &Reservation,
        activation: &Activation,
    ) -> Result<(), StoreError> {
        let claim = Update::builder()
            .table_name(&self.table)
            .set_key(Some(claim_key(&reservation.address)))
            .update_expression("SET #state = :active")
            .condition_expression("#token = :token AND #state = :pending")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":token", s(&reservation.token))
            .build()
            .expect("table, key and expression are set");
        let account = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(&reservation.owner, &reservation.address)))
            .update_expression(format!(
                "SET {}#status = :active, provider_ref = :provider_ref, \
                 smtp_server = :server, smtp_port = :port, smtp_username = :username, \
                 smtp_auth = :auth, updated_at = :now",
                // A provider without webmail leaves the attribute out rather than empty.
                if activation.webmail.is_some() {
                    "webmail = :webmail, "
                } else {
                    ""
                }
            ))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":token", s(&reservation.token))
            .expression_attribute_values(":provider_ref", s(&activation.provider_ref))
            .expression_attribute_values(":server", s(&activation.smtp.server))
            .expression_attribute_values(":port", n(activation.smtp.port))
            .expression_attribute_values(":username", s(&activation.smtp.username))
            .expression_attribute_values(":auth", s(activation.smtp.authentication.as_str()))
            .expression_attribute_values(":now", s(timestamp(activation.activated_at)));
        let account = match &activation.webmail {
            Some(webmail) => account.expression_attribute_values(":webmail", s(webmail)),
            None => account,
        }
        .build()
        .expect("table, key and expression are set");
        let mut items = vec![
            (
                TransactWriteItem::builder().update(claim).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().update(account).build(),
                Guard::Claim,
            ),
        ];
        items.extend(self.audit_writes(reservation, AuditAction::Created, activation.activated_at));
        self.transact_under_token(items).await
    }

    async fn release(
        &self,
        reservation: &Reservation,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claim = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(claim_key(&reservation.address)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(&reservation.token))
            .build()
            .expect("table and key are set");
        let refund = Update::builder()
            .table_name(&self.table)
            .set_key(Some(quota_key(reservation)))
            .update_expression("ADD used :minus_one")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (
                TransactWriteItem::builder().delete(claim).build(),
                Guard::Optional,
            ),
            (self.fail_pending_account(reservation, at), Guard::Optional),
            (
                TransactWriteItem::builder().update(refund).build(),
                Guard::Optional,
            ),
            (
                self.audit_put(reservation, AuditAction::CreateFailed, at, Some(error)),
                Guard::Unconditional,
            ),
        ];
        self.transact(items).await.map(|_| ())
    }

    async fn audit_rejection(
        &self,
        reservation: &Reservation,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(
                reservation.into(),
                AuditAction::CreateRejected,
                reservation.reserved_at,
                Some(reason),
                self.audit_retention,
            )))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl DynamoStore {
    /// Marks `reservation`'s account failed, if it is still its pending one.
    fn fail_pending_account(
        &self,
        reservation: &Reservation,
        at: DateTime<Utc>,
    ) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(&reservation.owner, &reservation.address)))
            // A failed create's record stays for its owner's history, out of the admin index.
            .update_expression("SET #status = :failed, updated_at = :now REMOVE admin_pk, admin_sk")
            .condition_expression("#token = :token AND #status = :pending")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":token", s(&reservation.token))
            .expression_attribute_values(":now", s(timestamp(at)))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    async fn stored_claim(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<(Claim, Reservation)>, StoreError> {
        let item = self.consistent_get(claim_key(address)).await?;
        item.as_ref().map(claim_from_item).transpose()
    }

    /// The items of a reservation; `stale` is the abandoned reservation whose
    /// expired claim is being taken over (its account is marked failed).
    fn reservation_items(
        &self,
        reservation: &Reservation,
        stale: Option<&Reservation>,
    ) -> Vec<(TransactWriteItem, Guard)> {
        let address = reservation.address.to_string();
        let owner = reservation.owner.to_string();
        let mut claim_item = claim_key(&reservation.address);
        claim_item.extend([
            ("address".into(), s(&address)),
            ("owner".into(), s(&owner)),
            ("state".into(), s("pending")),
            (
                "lease_expires_ms".into(),
                n(reservation.lease_expires_at.timestamp_millis()),
            ),
            ("token".into(), s(&reservation.token)),
            ("provider".into(), s(reservation.provider.as_str())),
            ("request_id".into(), s(&reservation.request_id)),
            (
                "reserved_ms".into(),
                n(reservation.reserved_at.timestamp_millis()),
            ),
        ]);
        let claim = match stale {
            None => Put::builder().condition_expression("attribute_not_exists(pk)"),
            Some(stale) => Put::builder()
                .condition_expression(
                    "#token = :stale AND #state <> :active AND lease_expires_ms < :now",
                )
                .expression_attribute_names("#token", "token")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":stale", s(&stale.token))
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":now", n(reservation.reserved_at.timestamp_millis())),
        }
        .table_name(&self.table)
        .set_item(Some(claim_item))
        .build()
        .expect("table and item are set");

        let day_start = reservation
            .reserved_at
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        let quota = Update::builder()
            .table_name(&self.table)
            .set_key(Some(quota_key(reservation)))
            .update_expression("ADD used :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(reservation.daily_limit))
            .expression_attribute_values(":ttl", n((day_start + QUOTA_RETENTION).timestamp()))
            .build()
            .expect("table, key and expression are set");

        let lookalikes = Update::builder()
            .table_name(&self.table)
            .set_key(Some(lookalike_item_key(&lookalike_key(
                &reservation.address,
            ))))
            .update_expression("ADD addresses :address")
            .expression_attribute_values(":address", AttributeValue::Ss(vec![address.clone()]))
            .build()
            .expect("table, key and expression are set");

        let now = timestamp(reservation.reserved_at);
        let mut account = account_key(&reservation.owner, &reservation.address);
        account.extend(account_index_keys(&reservation.address));
        account.extend([
            ("owner".into(), s(&owner)),
            ("address".into(), s(&address)),
            ("display_name".into(), s(reservation.display_name.as_str())),
            ("provider".into(), s(reservation.provider.as_str())),
            ("status".into(), s("pending")),
            ("token".into(), s(&reservation.token)),
            ("created_at".into(), s(&now)),
            ("updated_at".into(), s(&now)),
        ]);

        let mut items = vec![
            (
                TransactWriteItem::builder().put(claim).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().update(quota).build(),
                Guard::Quota,
            ),
            (
                TransactWriteItem::builder().put(self.put(account)).build(),
                Guard::Unconditional,
            ),
            (
                TransactWriteItem::builder().update(lookalikes).build(),
                Guard::Unconditional,
            ),
            (
                self.audit_put(
                    reservation,
                    AuditAction::CreateStarted,
                    reservation.reserved_at,
                    None,
                ),
                Guard::Unconditional,
            ),
        ];
        // A stalled create of another owner leaves a pending account: fail it.
        // (The same owner's is overwritten by the put above.)
        if let Some(stale) = stale.filter(|stale| stale.owner != reservation.owner) {
            items.push((
                self.fail_pending_account(stale, reservation.reserved_at),
                Guard::Optional,
            ));
        }
        items
    }
}
