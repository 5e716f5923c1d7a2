//! The production store: one DynamoDB table, string keys `pk`/`sk`, TTL
//! attribute `ttl`, items as DESIGN.md lays them out:
//!
//! | item    | pk                  | sk                                  |
//! | ------- | ------------------- | ----------------------------------- |
//! | claim   | `EMAIL#<address>`   | `CLAIM`                             |
//! | account | `USER#<user_id>`    | `ACCOUNT#<address>`                 |
//! | quota   | `USER#<user_id>`    | `QUOTA#<yyyy-mm-dd>`                |
//! | rotations | `USER#<user_id>`  | `ROTATIONS#<yyyy-mm-dd>`            |
//! | audit   | `USER#<user_id>`    | `LOG#<timestamp>#<request_id>#<n>`  |
//!
//! | look-alikes | `LOOKALIKE#<key>` | `LOOKALIKE`                    |
//!
//! A look-alike item (`store::lookalike_key`: `suport@example.com` for
//! `support@` and `supp0rt@`) keeps the set of addresses ever claimed with
//! that key, added to in the reservation's transaction; whether each still
//! holds its address is its claim's to say.
//!
//! Round trips: `claims` is one `BatchGetItem`, `lookalikes_of` one
//! consistent `GetItem` (and a `BatchGetItem` of the claims it names, when
//! it names another address), a page of `list_accounts` one `Query`,
//! `reserve`/`activate`/`release` one `TransactWriteItems` each (a takeover
//! of a stalled claim costs one `GetItem` more). A transaction that meets
//! another one on the same items (`TransactionConflict`) is tried again
//! after a short wait, then answered as a request in progress.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Datelike, Duration, NaiveTime, SecondsFormat, TimeZone, Utc};

use super::{
    is_live, lookalike_key, AccountChange, AccountHold, AccountStore, Activation, AuditAction,
    AuditEntry, AuditSubject, Claim, ClaimState, IdempotencyRecord, IdempotencyStart,
    IdempotencyState, OwnedAccount, Page, Reservation, SendEvent, SendEventOutcome, StoreError,
    SEND_EVENT_RETENTION,
};
use crate::domain::{
    utc_month, Account, AccountStatus, DisplayName, EmailAddress, IdempotencyKey, PeriodCounts,
    SendCounts, SendStats, SmtpAuthentication, SmtpSettings, UserId,
};

type Item = HashMap<String, AttributeValue>;

/// How long audit entries and spent quota counters are kept before TTL removes them.
const AUDIT_RETENTION: Duration = Duration::days(365);
const QUOTA_RETENTION: Duration = Duration::days(2);
/// Tries of a transaction that conflicts with another, and of a batch read
/// that DynamoDB leaves partly unprocessed, the waits between them doubling.
const CONTENDED_TRIES: u32 = 4;
const FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(25);

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn claim_key(address: &EmailAddress) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("EMAIL#{address}"))),
        ("sk".into(), s("CLAIM")),
    ])
}

fn account_key(owner: &UserId, address: &EmailAddress) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{owner}"))),
        ("sk".into(), s(format!("ACCOUNT#{address}"))),
    ])
}

fn quota_key(reservation: &Reservation) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{}", reservation.owner))),
        ("sk".into(), s(format!("QUOTA#{}", reservation.quota_day()))),
    ])
}

fn lookalike_item_key(key: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("LOOKALIKE#{key}"))),
        ("sk".into(), s("LOOKALIKE")),
    ])
}

fn rotations_key(owner: &UserId, day: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{owner}"))),
        ("sk".into(), s(format!("ROTATIONS#{day}"))),
    ])
}

/// The wait before try `tries + 1` of something contended: doubling from `FIRST_WAIT`.
fn contended_wait(tries: u32) -> std::time::Duration {
    FIRST_WAIT.saturating_mul(1 << tries.min(8))
}

/// Idempotency keys never contain `#`, so the last `#` of the partition key
/// always separates the user id from the key.
fn idempotency_key(owner: &UserId, key: &IdempotencyKey) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("IDEMPOTENCY#{owner}#{key}"))),
        ("sk".into(), s("IDEMPOTENCY")),
    ])
}

fn millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| corrupt(format!("bad time {ms}")))
}

fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let state = item.text("state")?;
    Ok(IdempotencyRecord {
        request_hash: item.text("request_hash")?.to_string(),
        state: IdempotencyState::parse(state)
            .ok_or_else(|| corrupt(format!("bad idempotency state {state:?}")))?,
        response: item.optional_text("response").map(str::to_string),
        expires_at: millis(item.number("expires_ms")?)?,
        in_progress_until: millis(item.number("in_progress_until_ms")?)?,
    })
}

/// Typed reads of item attributes; a missing or mistyped one is `Corrupt`.
trait ItemExt {
    fn text(&self, name: &str) -> Result<&str, StoreError>;
    fn optional_text(&self, name: &str) -> Option<&str>;
    fn number<T: FromStr>(&self, name: &str) -> Result<T, StoreError>;
}

impl ItemExt for Item {
    fn text(&self, name: &str) -> Result<&str, StoreError> {
        self.optional_text(name)
            .ok_or_else(|| corrupt(format!("item lacks text attribute {name}")))
    }

    fn optional_text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| value.as_s().ok())
            .map(String::as_str)
    }

    fn number<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.get(name)
            .and_then(|value| value.as_n().ok())
            .and_then(|raw| raw.parse().ok())
            .ok_or_else(|| corrupt(format!("item lacks number attribute {name}")))
    }
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| corrupt(format!("bad timestamp {raw:?}")))
}

/// A claim item: the claim, and the reservation that wrote it.
fn claim_from_item(item: &Item) -> Result<(Claim, Reservation), StoreError> {
    let state = match item.text("state")? {
        "pending" => ClaimState::Pending,
        "active" => ClaimState::Active,
        "quarantined" => ClaimState::Quarantined,
        other => return Err(corrupt(format!("bad claim state {other:?}"))),
    };
    let claim = Claim {
        address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
        owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
        state,
        lease_expires_at: millis(item.number("lease_expires_ms")?)?,
    };
    let reservation = Reservation::recovered(
        claim.owner.clone(),
        claim.address.clone(),
        item.text("provider")?.to_string(),
        item.text("request_id")?.to_string(),
        item.text("token")?.to_string(),
        millis(item.number("reserved_ms")?)?,
        claim.lease_expires_at,
    );
    Ok((claim, reservation))
}

fn account_from_item(item: &Item) -> Result<Account, StoreError> {
    let address = EmailAddress::parse(item.text("address")?).map_err(corrupt)?;
    let smtp = match (
        item.optional_text("smtp_server"),
        item.number::<u16>("smtp_port").ok(),
        item.optional_text("smtp_username"),
        item.optional_text("smtp_auth")
            .and_then(SmtpAuthentication::parse),
    ) {
        (Some(server), Some(port), Some(username), Some(authentication)) => Some(SmtpSettings {
            server: server.to_string(),
            port,
            username: username.to_string(),
            authentication,
        }),
        _ => None,
    };
    let status = item.text("status")?;
    Ok(Account {
        owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
        display_name: DisplayName::parse(Some(item.text("display_name")?), address.username())
            .map_err(corrupt)?,
        address,
        provider: item.text("provider")?.to_string(),
        status: AccountStatus::parse(status)
            .ok_or_else(|| corrupt(format!("bad account status {status:?}")))?,
        smtp,
        webmail: item.optional_text("webmail").map(str::to_string),
        created_at: parse_time(item.text("created_at")?)?,
        stats: stats_from_item(item)?,
    })
}

/// The latest day's and month's counters among the item's `day_…`/`month_…` attributes.
fn stats_from_item(item: &Item) -> Result<SendStats, StoreError> {
    let latest = |prefix: &str| -> Result<Option<PeriodCounts>, StoreError> {
        let mut periods: HashMap<&str, SendCounts> = HashMap::new();
        for (name, value) in item {
            let Some((period, kind)) = name
                .strip_prefix(prefix)
                .and_then(|rest| rest.rsplit_once('_'))
            else {
                continue;
            };
            let count: u32 = value
                .as_n()
                .ok()
                .and_then(|raw| raw.parse().ok())
                .ok_or_else(|| corrupt(format!("bad counter {name}")))?;
            let counts = periods.entry(period).or_default();
            match kind {
                "send" => counts.sends = count,
                "delivery" => counts.deliveries = count,
                "bounce" => counts.bounces = count,
                "complaint" => counts.complaints = count,
                _ => return Err(corrupt(format!("bad counter {name}"))),
            }
        }
        Ok(periods
            .into_iter()
            .max_by(|a, b| a.0.cmp(b.0))
            .map(|(period, counts)| PeriodCounts {
                period: period.to_string(),
                counts,
            }))
    };
    Ok(SendStats {
        day: latest("day_")?,
        month: latest("month_")?,
        updated_at: item
            .optional_text("stats_updated_at")
            .map(parse_time)
            .transpose()?,
    })
}

fn owned_from_item(item: &Item) -> Result<OwnedAccount, StoreError> {
    Ok(OwnedAccount {
        account: account_from_item(item)?,
        provider_ref: item.optional_text("provider_ref").map(str::to_string),
        secret_ref: item.optional_text("secret_ref").map(str::to_string),
        credentials_version: match item.get("credentials_version") {
            None => 0,
            Some(_) => item.number("credentials_version")?,
        },
    })
}

/// The position of an audit entry within its request, so entries written in
/// the same millisecond still sort in the order they happened.
fn audit_step(action: AuditAction) -> u8 {
    match action {
        AuditAction::CreateStarted | AuditAction::CreateRejected => 1,
        AuditAction::Created | AuditAction::CreateFailed => 2,
        // A change writes one entry, done or failed.
        AuditAction::Deleted
        | AuditAction::DeleteFailed
        | AuditAction::CredentialsRotated
        | AuditAction::RotateFailed
        | AuditAction::Disabled
        | AuditAction::DisableFailed
        | AuditAction::Enabled
        | AuditAction::EnableFailed => 1,
    }
}

/// Why a transaction was refused, by the role of the item whose condition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// The address claim: someone else holds it, or it is no longer ours.
    Claim,
    /// The daily create quota.
    Quota,
    /// A provider report counted before.
    Event,
    /// A best-effort write: if its condition fails, the rest still goes in.
    Optional,
    /// A write with no condition.
    Unconditional,
}

enum TransactionOutcome {
    Committed,
    Refused(Guard),
}

impl DynamoStore {
    fn put(&self, item: Item) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set")
    }

    fn audit_put<'a>(
        &self,
        subject: impl Into<AuditSubject<'a>>,
        action: AuditAction,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(self.put(audit_item(subject.into(), action, at, error)))
            .build()
    }
}

fn audit_item(
    subject: AuditSubject<'_>,
    action: AuditAction,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), s(format!("USER#{}", subject.owner))),
        (
            "sk".into(),
            s(format!(
                "LOG#{}#{}#{}",
                timestamp(at),
                subject.token,
                audit_step(action)
            )),
        ),
        ("at".into(), s(timestamp(at))),
        ("request_id".into(), s(subject.request_id)),
        ("action".into(), s(action.as_str())),
        ("status".into(), s(action.status())),
        ("address".into(), s(subject.address.to_string())),
        ("provider".into(), s(subject.provider)),
        ("ttl".into(), n((at + AUDIT_RETENTION).timestamp())),
    ]);
    if let Some(error) = error {
        item.insert("error".into(), s(error));
    }
    item
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
            .update_expression("SET #status = :failed, updated_at = :now")
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

    /// Writes `items` in one transaction. When only optional conditions
    /// fail, the transaction is written again without those items.
    async fn transact(
        &self,
        mut items: Vec<(TransactWriteItem, Guard)>,
    ) -> Result<TransactionOutcome, StoreError> {
        let mut conflicts = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.iter().map(|(item, _)| item.clone()).collect()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(TransactionOutcome::Committed),
                Err(error) => error.into_service_error(),
            };
            let TransactWriteItemsError::TransactionCanceledException(cancelled) = &error else {
                return Err(backend(error));
            };
            // Another transaction was writing the same items: nothing was
            // written, and this one may well go through a moment later.
            let conflicted = cancelled
                .cancellation_reasons()
                .iter()
                .any(|reason| reason.code() == Some("TransactionConflict"));
            if conflicted {
                conflicts += 1;
                if conflicts >= CONTENDED_TRIES {
                    return Err(StoreError::Contended);
                }
                tokio::time::sleep(contended_wait(conflicts)).await;
                continue;
            }
            let failed: Vec<usize> = cancelled
                .cancellation_reasons()
                .iter()
                .enumerate()
                .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                .map(|(index, _)| index)
                .collect();
            if failed.is_empty() {
                return Err(backend(error));
            }
            let guards: Vec<Guard> = failed.iter().map(|&i| items[i].1).collect();
            for guard in [Guard::Claim, Guard::Quota, Guard::Event] {
                if guards.contains(&guard) {
                    return Ok(TransactionOutcome::Refused(guard));
                }
            }
            if !guards.iter().all(|guard| *guard == Guard::Optional) {
                return Err(backend(error));
            }
            for index in failed.into_iter().rev() {
                items.remove(index);
            }
        }
    }

    /// One item, read after every write that preceded the read.
    async fn consistent_get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
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
            ("provider".into(), s(&reservation.provider)),
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
        account.extend([
            ("owner".into(), s(&owner)),
            ("address".into(), s(&address)),
            ("display_name".into(), s(reservation.display_name.as_str())),
            ("provider".into(), s(&reservation.provider)),
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

#[async_trait]
impl AccountStore for DynamoStore {
    /// The look-alike item (one consistent `GetItem`), then the claims of
    /// the other addresses it names, in one `BatchGetItem` (none when it
    /// names none: the usual case).
    async fn lookalikes_of(&self, address: &EmailAddress) -> Result<Vec<Claim>, StoreError> {
        let key = lookalike_item_key(&lookalike_key(address));
        let Some(item) = self.consistent_get(key).await? else {
            return Ok(Vec::new());
        };
        let others = item
            .get("addresses")
            .and_then(|value| value.as_ss().ok())
            .ok_or_else(|| corrupt("a look-alike item without its addresses"))?
            .iter()
            .map(|other| EmailAddress::parse(other).map_err(corrupt))
            .filter(|other| other.as_ref().map_or(true, |other| other != address))
            .collect::<Result<Vec<_>, _>>()?;
        self.claims(&others).await
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

    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError> {
        let mut pending: Vec<Item> = addresses.iter().map(claim_key).collect();
        pending.dedup();
        let mut claims = Vec::new();
        // One round trip; more only if DynamoDB hands back unprocessed keys,
        // each after a longer wait (it leaves keys when it is throttling).
        let mut rounds = 0;
        while !pending.is_empty() {
            if rounds > 0 {
                if rounds >= CONTENDED_TRIES {
                    return Err(StoreError::Contended);
                }
                tokio::time::sleep(contended_wait(rounds)).await;
            }
            rounds += 1;
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(backend)?;
            for item in output
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                claims.push(claim_from_item(item)?.0);
            }
            if let Some(unprocessed) = output.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = unprocessed.keys().to_vec();
            }
        }
        Ok(claims)
    }

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
        let account =
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(account_key(&reservation.owner, &reservation.address)))
                .update_expression(format!(
                "SET {}#status = :active, provider_ref = :provider_ref, secret_ref = :secret_ref, \
                 smtp_server = :server, smtp_port = :port, smtp_username = :username, \
                 smtp_auth = :auth, updated_at = :now",
                // A provider without webmail leaves the attribute out rather than empty.
                if activation.webmail.is_some() { "webmail = :webmail, " } else { "" }
            ))
                .condition_expression("#token = :token")
                .expression_attribute_names("#token", "token")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":token", s(&reservation.token))
                .expression_attribute_values(":provider_ref", s(&activation.provider_ref))
                .expression_attribute_values(":secret_ref", s(&activation.secret_ref))
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
        let items = vec![
            (
                TransactWriteItem::builder().update(claim).build(),
                Guard::Claim,
            ),
            (
                TransactWriteItem::builder().update(account).build(),
                Guard::Claim,
            ),
            (
                self.audit_put(
                    reservation,
                    AuditAction::Created,
                    activation.activated_at,
                    None,
                ),
                Guard::Unconditional,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(()),
            TransactionOutcome::Refused(_) => Err(StoreError::ReservationLost),
        }
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
            )))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn owned_account(
        &self,
        owner: &UserId,
        address: &EmailAddress,
    ) -> Result<Option<OwnedAccount>, StoreError> {
        let Some(item) = self.consistent_get(account_key(owner, address)).await? else {
            return Ok(None);
        };
        let owned = owned_from_item(&item)?;
        Ok(owned.account.status.is_created().then_some(owned))
    }

    async fn hold_account(&self, hold: &AccountHold) -> Result<OwnedAccount, StoreError> {
        let held = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(account_key(&hold.owner, &hold.address)))
            .update_expression("SET hold_token = :token, hold_lease_ms = :lease")
            .condition_expression(
                "#status IN (:active, :disabled) AND \
                 (attribute_not_exists(hold_lease_ms) OR hold_lease_ms <= :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
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
            .set_key(Some(account_key(&hold.owner, &hold.address)))
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.token))
            .build()
            .expect("table and key are set");
        let claim = if quarantine_until > hold.started_at {
            let quarantine = Update::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&hold.address)))
                .update_expression(
                    "SET #state = :quarantined, lease_expires_ms = :until, #token = :token, \
                     request_id = :request, #ttl = :ttl",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#token", "token")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":quarantined", s("quarantined"))
                .expression_attribute_values(":until", n(quarantine_until.timestamp_millis()))
                .expression_attribute_values(":token", s(&hold.token))
                .expression_attribute_values(":request", s(&hold.request_id))
                .expression_attribute_values(":ttl", n(quarantine_until.timestamp()))
                .build()
                .expect("table, key and expression are set");
            TransactWriteItem::builder().update(quarantine).build()
        } else {
            let free = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&hold.address)))
                .build()
                .expect("table and key are set");
            TransactWriteItem::builder().delete(free).build()
        };
        let items = vec![
            (
                TransactWriteItem::builder().delete(account).build(),
                Guard::Claim,
            ),
            (claim, Guard::Unconditional),
            (
                self.audit_put(hold, AuditAction::Deleted, hold.started_at, None),
                Guard::Unconditional,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(()),
            TransactionOutcome::Refused(_) => Err(StoreError::ReservationLost),
        }
    }

    async fn finish_change(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(&hold.owner, &hold.address)))
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.token))
            .expression_attribute_values(":at", s(timestamp(hold.started_at)));
        let set_status = |update: UpdateBuilder, status: AccountStatus| {
            update
                .update_expression(
                    "SET #status = :status, updated_at = :at REMOVE hold_token, hold_lease_ms",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
        };
        let update = match change {
            AccountChange::CredentialsRotated {
                smtp_username,
                provider_ref,
                secret_ref,
            } => update
                .update_expression(
                    "SET smtp_username = :username, provider_ref = :provider_ref, \
                     secret_ref = :secret_ref, updated_at = :at \
                     ADD credentials_version :one \
                     REMOVE hold_token, hold_lease_ms",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":username", s(smtp_username))
                .expression_attribute_values(":provider_ref", s(provider_ref))
                .expression_attribute_values(":secret_ref", s(secret_ref)),
            AccountChange::Disabled => set_status(update, AccountStatus::Disabled),
            AccountChange::Enabled => set_status(update, AccountStatus::Active),
        }
        .build()
        .expect("table, key and expression are set");
        let items = vec![
            (
                TransactWriteItem::builder().update(update).build(),
                Guard::Claim,
            ),
            (
                self.audit_put(hold, hold.operation.done(), hold.started_at, None),
                Guard::Unconditional,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(()),
            TransactionOutcome::Refused(_) => Err(StoreError::ReservationLost),
        }
    }

    async fn release_hold(
        &self,
        hold: &AccountHold,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let release = Update::builder()
            .table_name(&self.table)
            .set_key(Some(account_key(&hold.owner, &hold.address)))
            .update_expression("REMOVE hold_token, hold_lease_ms")
            .condition_expression("hold_token = :token")
            .expression_attribute_values(":token", s(&hold.token))
            .build()
            .expect("table, key and expression are set");
        let mut items = vec![(
            TransactWriteItem::builder().update(release).build(),
            Guard::Optional,
        )];
        if let Some(error) = error {
            items.push((
                self.audit_put(hold, hold.operation.failed(), hold.started_at, Some(error)),
                Guard::Unconditional,
            ));
        }
        self.transact(items).await.map(drop)
    }

    async fn list_accounts(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let limit_items = usize::try_from(limit).unwrap_or(usize::MAX);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :accounts)")
            .filter_expression("#status <> :failed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(format!("USER#{owner}")))
            .expression_attribute_values(":accounts", s("ACCOUNT#"))
            .expression_attribute_values(":failed", s("failed"))
            // One more than asked tells whether another page follows.
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1))
            .set_exclusive_start_key(after.map(|after| account_key(owner, after)))
            .send()
            .await
            .map_err(backend)?;
        let mut accounts = output
            .items()
            .iter()
            .map(account_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if accounts.len() > limit_items {
            accounts.truncate(limit_items);
            accounts.last().map(|account| account.address.clone())
        } else {
            // Filtered-out items may have cut the page short: go on from where DynamoDB stopped.
            output
                .last_evaluated_key()
                .map(|key| {
                    key.text("sk")
                        .map(|sk| sk.trim_start_matches("ACCOUNT#").to_string())
                })
                .transpose()?
                .map(|address| EmailAddress::parse(&address).map_err(corrupt))
                .transpose()?
        };
        Ok(Page {
            accounts,
            next_after,
        })
    }

    /// The account is found by its claim (the address's owner). Its
    /// counters are attributes named after their period and kind
    /// (`day_2026-11-25_sends`), added to atomically in the transaction
    /// that keeps the report's key: a burst of reports never contends on a
    /// read. The same kind's counters of the day and month before are
    /// removed on the way, so the item keeps about two of each.
    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError> {
        let claim = self.consistent_get(claim_key(&event.address)).await?;
        let Some(owner) = claim
            .filter(|claim| claim.optional_text("state") == Some("active"))
            .and_then(|claim| claim.optional_text("owner").map(str::to_string))
        else {
            return Ok(SendEventOutcome::NotOurs);
        };
        let owner = UserId::parse(&owner).map_err(corrupt)?;
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
            .condition_expression("#status IN (:active, :disabled)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#day", format!("day_{day}_{kind}"))
            .expression_attribute_names("#month", format!("month_{month}_{kind}"))
            .expression_attribute_names("#previous_day", format!("day_{previous_day}_{kind}"))
            .expression_attribute_names("#previous_month", format!("month_{previous_month}_{kind}"))
            .expression_attribute_values(":count", n(event.count))
            .expression_attribute_values(":now", s(timestamp(event.recorded_at)))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            (TransactWriteItem::builder().put(seen).build(), Guard::Event),
            (
                TransactWriteItem::builder().update(count).build(),
                Guard::Claim,
            ),
        ];
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(SendEventOutcome::Counted),
            TransactionOutcome::Refused(Guard::Event) => Ok(SendEventOutcome::Duplicate),
            TransactionOutcome::Refused(_) => Ok(SendEventOutcome::NotOurs),
        }
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

    /// A counting scan (run by the hourly quotas job, not by a request).
    async fn count_created_accounts(&self) -> Result<u64, StoreError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .select(Select::Count)
            .filter_expression("begins_with(sk, :account) AND #status IN (:active, :disabled)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":account", s("ACCOUNT#"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += u64::try_from(page.map_err(backend)?.count()).unwrap_or_default();
        }
        Ok(count)
    }

    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :logs)")
                .expression_attribute_values(":pk", s(format!("USER#{owner}")))
                .expression_attribute_values(":logs", s("LOG#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                let action = item.text("action")?;
                entries.push(AuditEntry {
                    at: parse_time(item.text("at")?)?,
                    request_id: item.text("request_id")?.to_string(),
                    action: AuditAction::parse(action)
                        .ok_or_else(|| corrupt(format!("bad audit action {action:?}")))?,
                    address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
                    provider: item.text("provider")?.to_string(),
                    error: item.optional_text("error").map(str::to_string),
                });
            }
            match output.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(entries),
            }
        }
    }

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
