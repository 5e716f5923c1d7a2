//! Items as the table keeps them: keys, typed attribute reads, and the
//! items each record is written as.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::{
    utc_month, Account, AccountStatus, DisplayName, EmailAddress, IdempotencyKey, PeriodCounts,
    SealedPassword, SendCounts, SendStats, SmtpAuthentication, SmtpSettings, UserId,
};
use crate::store::encoding::{
    claim_state, corrupt, decode_suspension, from_millis, parse_day, parse_timestamp,
    provider_kind, timestamp,
};
use crate::store::{
    AuditAction, AuditEntry, AuditSubject, Claim, DueLift, IdempotencyRecord, IdempotencyState,
    OwnedAccount, Reservation, StoreError,
};

pub(super) type Item = HashMap<String, AttributeValue>;

/// How long spent quota counters are kept before TTL removes them.
pub(super) const QUOTA_RETENTION: Duration = Duration::days(2);
/// Tries of a transaction that conflicts with another, and of a batch read
/// that DynamoDB leaves partly unprocessed, the waits between them doubling.
pub(super) const CONTENDED_TRIES: u32 = 4;
pub(super) const FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(25);

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn claim_key(address: &EmailAddress) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("EMAIL#{address}"))),
        ("sk".into(), s("CLAIM")),
    ])
}

pub(super) fn account_key(owner: &UserId, address: &EmailAddress) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{owner}"))),
        ("sk".into(), s(format!("ACCOUNT#{address}"))),
    ])
}

/// The admin index keys of an account item: every account in one
/// partition, by domain, then address (a domain is a prefix to query).
pub(super) fn account_index_keys(address: &EmailAddress) -> Item {
    HashMap::from([
        ("admin_pk".into(), s(ACCOUNTS_PARTITION)),
        ("admin_sk".into(), s(account_index_position(address))),
    ])
}

pub(super) const ACCOUNTS_PARTITION: &str = "ACCOUNTS";

pub(super) fn account_index_position(address: &EmailAddress) -> String {
    format!("{}#{address}", address.domain())
}

/// What an address sent on a UTC day: next to its claim, so reports for
/// different addresses never write the same partition.
pub(super) fn daily_sends_key(address: &EmailAddress, day: NaiveDate) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("EMAIL#{address}"))),
        ("sk".into(), s(format!("SENDS#{day}"))),
    ])
}

/// Where a send-limit suspension waits to lift itself: one partition,
/// sorted by when (a few items at most: the reconciler removes each).
pub(super) fn lift_key(lift: &DueLift) -> Item {
    HashMap::from([
        ("pk".into(), s(LIFTS_PARTITION)),
        (
            "sk".into(),
            s(format!("{}#{}", timestamp(lift.lifts_at), lift.address)),
        ),
    ])
}

pub(super) const LIFTS_PARTITION: &str = "LIFTS";

/// The admin index partition of the daily sends of `day`'s month.
pub(super) fn daily_sends_partition(day: NaiveDate) -> String {
    format!("SENDS#{}", day.format("%Y-%m"))
}

pub(super) fn quota_key(reservation: &Reservation) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{}", reservation.owner))),
        ("sk".into(), s(format!("QUOTA#{}", reservation.quota_day()))),
    ])
}

pub(super) fn lookalike_item_key(key: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("LOOKALIKE#{key}"))),
        ("sk".into(), s("LOOKALIKE")),
    ])
}

pub(super) fn rotations_key(owner: &UserId, day: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("USER#{owner}"))),
        ("sk".into(), s(format!("ROTATIONS#{day}"))),
    ])
}

/// The wait before try `tries + 1` of something contended: doubling from `FIRST_WAIT`.
pub(super) fn contended_wait(tries: u32) -> std::time::Duration {
    FIRST_WAIT.saturating_mul(1 << tries.min(8))
}

/// Idempotency keys never contain `#`, so the last `#` of the partition key
/// always separates the user id from the key.
pub(super) fn idempotency_key(owner: &UserId, key: &IdempotencyKey) -> Item {
    HashMap::from([
        ("pk".into(), s(format!("IDEMPOTENCY#{owner}#{key}"))),
        ("sk".into(), s("IDEMPOTENCY")),
    ])
}

pub(super) fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let state = item.text("state")?;
    Ok(IdempotencyRecord {
        request_hash: item.text("request_hash")?.to_string(),
        state: IdempotencyState::parse(state)
            .ok_or_else(|| corrupt(format!("bad idempotency state {state:?}")))?,
        response: item.optional_text("response").map(str::to_string),
        sealed_password: item
            .optional_text("sealed_password")
            .map(|sealed| SealedPassword::new(sealed.to_string())),
        expires_at: from_millis(item.number("expires_ms")?)?,
        in_progress_until: from_millis(item.number("in_progress_until_ms")?)?,
    })
}

/// Typed reads of item attributes; a missing or mistyped one is `Corrupt`.
pub(super) trait ItemExt {
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

/// A claim item: the claim, and the reservation that wrote it.
pub(super) fn claim_from_item(item: &Item) -> Result<(Claim, Reservation), StoreError> {
    let state = claim_state(item.text("state")?)?;
    let claim = Claim {
        address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
        owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
        state,
        lease_expires_at: from_millis(item.number("lease_expires_ms")?)?,
    };
    let reservation = Reservation::recovered(
        claim.owner.clone(),
        claim.address.clone(),
        provider_kind(item.text("provider")?)?,
        item.text("request_id")?.to_string(),
        item.text("token")?.to_string(),
        from_millis(item.number("reserved_ms")?)?,
        claim.lease_expires_at,
    );
    Ok((claim, reservation))
}

pub(super) fn account_from_item(item: &Item) -> Result<Account, StoreError> {
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
        provider: provider_kind(item.text("provider")?)?,
        status: AccountStatus::parse(status)
            .ok_or_else(|| corrupt(format!("bad account status {status:?}")))?,
        suspension: item
            .optional_text("suspension")
            .map(decode_suspension)
            .transpose()?,
        smtp,
        webmail: item.optional_text("webmail").map(str::to_string),
        created_at: parse_timestamp(item.text("created_at")?)?,
        stats: stats_from_item(item)?,
    })
}

/// The latest day's and month's counters among the item's `day_…`/`month_…` attributes.
pub(super) fn stats_from_item(item: &Item) -> Result<SendStats, StoreError> {
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
            .map(parse_timestamp)
            .transpose()?,
    })
}

pub(super) fn owned_from_item(item: &Item) -> Result<OwnedAccount, StoreError> {
    Ok(OwnedAccount {
        account: account_from_item(item)?,
        provider_ref: item.optional_text("provider_ref").map(str::to_string),
        credentials_version: match item.get("credentials_version") {
            None => 0,
            Some(_) => item.number("credentials_version")?,
        },
        rails_counted_from: item
            .optional_text("rails_counted_from")
            .map(parse_day)
            .transpose()?,
    })
}

pub(super) fn audit_item(
    subject: AuditSubject<'_>,
    action: AuditAction,
    at: DateTime<Utc>,
    error: Option<&str>,
    retention: Duration,
) -> Item {
    let position = subject.position(action, at);
    let mut item = HashMap::from([
        ("pk".into(), s(format!("USER#{}", subject.owner))),
        ("sk".into(), s(format!("LOG#{position}"))),
        ("admin_pk".into(), s(audit_partition(at))),
        ("admin_sk".into(), s(position)),
        ("at".into(), s(timestamp(at))),
        ("request_id".into(), s(subject.request_id)),
        ("actor".into(), s(subject.actor.as_str())),
        ("owner".into(), s(subject.owner.as_str())),
        ("action".into(), s(action.as_str())),
        ("status".into(), s(action.status())),
        ("address".into(), s(subject.address.to_string())),
        ("provider".into(), s(subject.provider.as_str())),
        ("ttl".into(), n((at + retention).timestamp())),
    ]);
    if let Some(new_owner) = subject.new_owner {
        item.insert("new_owner".into(), s(new_owner.as_str()));
    }
    if let Some(error) = error {
        item.insert("error".into(), s(error));
    }
    item
}

/// Where the outbox's items live (`OUTBOX` / position): one partition, read
/// consistently right after a change commits.
pub(super) const OUTBOX_PARTITION: &str = "OUTBOX";

/// A change's place in the outbox: a copy of its audit entry that never
/// expires, out of the admin index, until it is published.
pub(super) fn outbox_item(
    subject: AuditSubject<'_>,
    action: AuditAction,
    at: DateTime<Utc>,
) -> Item {
    let position = subject.position(action, at);
    let mut item = audit_item(subject, action, at, None, Duration::zero());
    for name in ["admin_pk", "admin_sk", "ttl"] {
        item.remove(name);
    }
    item.insert("pk".into(), s(OUTBOX_PARTITION));
    item.insert("sk".into(), s(position));
    item.insert("leased_until_ms".into(), n(0));
    item
}

pub(super) fn outbox_key(position: &str) -> Item {
    HashMap::from([
        ("pk".into(), s(OUTBOX_PARTITION)),
        ("sk".into(), s(position)),
    ])
}

/// The admin index partition of the audit entries written at `at`: one per
/// UTC month, read newest first.
pub(super) fn audit_partition(at: DateTime<Utc>) -> String {
    format!("AUDIT#{}", utc_month(at))
}

/// An audit item read back; entries written before actors were recorded
/// name their owner as actor.
pub(super) fn audit_from_item(item: &Item) -> Result<AuditEntry, StoreError> {
    let action = item.text("action")?;
    let owner = match item.optional_text("owner") {
        Some(owner) => owner,
        None => item
            .text("pk")?
            .strip_prefix("USER#")
            .ok_or_else(|| corrupt("an audit item outside a user's partition"))?,
    };
    let owner = UserId::parse(owner).map_err(corrupt)?;
    let user = |name: &str| {
        item.optional_text(name)
            .map(|raw| UserId::parse(raw).map_err(corrupt))
            .transpose()
    };
    Ok(AuditEntry {
        at: parse_timestamp(item.text("at")?)?,
        request_id: item.text("request_id")?.to_string(),
        actor: user("actor")?.unwrap_or_else(|| owner.clone()),
        new_owner: user("new_owner")?,
        owner,
        action: AuditAction::parse(action)
            .ok_or_else(|| corrupt(format!("bad audit action {action:?}")))?,
        address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
        provider: provider_kind(item.text("provider")?)?,
        error: item.optional_text("error").map(str::to_string),
    })
}
