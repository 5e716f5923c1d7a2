//! The rows of the SQLite store as Rust reads and writes them, and the
//! statements several roles share (the audit entry, the daily allowances,
//! a created account with its hold).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::select;
use crate::domain::{
    Account, AccountStatus, DisplayName, EmailAddress, PeriodCounts, SendCounts, SendStats,
    SmtpAuthentication, SmtpSettings, UserId,
};
use crate::store::encoding::{
    backend, claim_state, corrupt, decode_suspension, from_millis, parse_day, parse_timestamp,
    provider_kind, timestamp,
};
use crate::store::{
    AuditAction, AuditEntry, AuditSubject, Claim, OwnedAccount, Reservation, StoreError,
    SEND_EVENT_RETENTION,
};

pub(super) fn audit<'a>(
    tx: &Transaction<'_>,
    subject: impl Into<AuditSubject<'a>>,
    action: AuditAction,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let subject = subject.into();
    let position = subject.position(action, at);
    tx.execute(
        "INSERT INTO audit_log
           (position, owner, actor, new_owner, at, request_id, action, address, provider, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            position,
            subject.owner.as_str(),
            subject.actor.as_str(),
            subject.new_owner.map(UserId::as_str),
            timestamp(at),
            subject.request_id,
            action.as_str(),
            subject.address.to_string(),
            subject.provider.as_str(),
            error,
        ],
    )
    .map_err(backend)?;
    if action.announced() {
        tx.execute("INSERT INTO outbox (position) VALUES (?1)", [&position])
            .map_err(backend)?;
    }
    Ok(())
}

/// How an account's `SendStats` is kept: one JSON text column.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredStats {
    day: Option<StoredPeriod>,
    month: Option<StoredPeriod>,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPeriod {
    period: String,
    sends: u32,
    deliveries: u32,
    bounces: u32,
    complaints: u32,
}

impl From<&PeriodCounts> for StoredPeriod {
    fn from(kept: &PeriodCounts) -> Self {
        Self {
            period: kept.period.clone(),
            sends: kept.counts.sends,
            deliveries: kept.counts.deliveries,
            bounces: kept.counts.bounces,
            complaints: kept.counts.complaints,
        }
    }
}

impl From<StoredPeriod> for PeriodCounts {
    fn from(stored: StoredPeriod) -> Self {
        Self {
            period: stored.period,
            counts: SendCounts {
                sends: stored.sends,
                deliveries: stored.deliveries,
                bounces: stored.bounces,
                complaints: stored.complaints,
            },
        }
    }
}

pub(super) fn encode_stats(stats: &SendStats) -> String {
    let stored = StoredStats {
        day: stats.day.as_ref().map(StoredPeriod::from),
        month: stats.month.as_ref().map(StoredPeriod::from),
        updated_at: stats.updated_at,
    };
    serde_json::to_string(&stored).expect("counters serialize")
}

/// No text yet: nothing counted.
pub(super) fn decode_stats(text: Option<&str>) -> Result<SendStats, StoreError> {
    let Some(text) = text else {
        return Ok(SendStats::default());
    };
    let stored: StoredStats = serde_json::from_str(text)
        .map_err(|error| StoreError::Corrupt(format!("send statistics: {error}")))?;
    Ok(SendStats {
        day: stored.day.map(PeriodCounts::from),
        month: stored.month.map(PeriodCounts::from),
        updated_at: stored.updated_at,
    })
}

/// Counts one use of `owner`'s daily `kind` allowance on `day`;
/// `QuotaExceeded` when `limit` are used already.
pub(super) fn take_allowance(
    tx: &Transaction<'_>,
    owner: &str,
    kind: &str,
    day: &str,
    limit: u32,
) -> Result<(), StoreError> {
    let used: u32 = tx
        .query_row(
            "SELECT used FROM daily_quota WHERE owner = ?1 AND kind = ?2 AND day = ?3",
            params![owner, kind, day],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend)?
        .unwrap_or(0);
    if used >= limit {
        return Err(StoreError::QuotaExceeded);
    }
    tx.execute(
        "INSERT INTO daily_quota (owner, kind, day, used) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (owner, kind, day) DO UPDATE SET used = used + 1",
        params![owner, kind, day],
    )
    .map_err(backend)?;
    Ok(())
}

/// Gives back one use `take_allowance` counted.
pub(super) fn give_back_allowance(
    tx: &Transaction<'_>,
    owner: &str,
    kind: &str,
    day: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE daily_quota SET used = used - 1
         WHERE owner = ?1 AND kind = ?2 AND day = ?3 AND used > 0",
        params![owner, kind, day],
    )
    .map_err(backend)?;
    Ok(())
}

/// Keeps a report's key, dropping the expired ones; `false` if it was kept already.
pub(super) fn remember(
    tx: &Transaction<'_>,
    event_key: &str,
    recorded_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    tx.execute(
        "DELETE FROM send_events WHERE expires_ms <= ?1",
        [recorded_at.timestamp_millis()],
    )
    .map_err(backend)?;
    let inserted = tx
        .execute(
            "INSERT OR IGNORE INTO send_events (event_key, expires_ms) VALUES (?1, ?2)",
            params![
                event_key,
                (recorded_at + SEND_EVENT_RETENTION).timestamp_millis()
            ],
        )
        .map_err(backend)?;
    Ok(inserted == 1)
}

/// The owner's created (active or disabled) account at `address`, with the
/// lease of the hold on it, if any.
pub(super) fn created_account(
    connection: &Connection,
    owner: &UserId,
    address: &EmailAddress,
) -> Result<Option<(OwnedAccount, Option<i64>)>, StoreError> {
    let rows = select(
        connection,
        &format!(
            "SELECT {ACCOUNT_COLUMNS}, provider_ref, hold_lease_ms,
                 credentials_version, rails_counted_from FROM accounts
             WHERE owner = ?1 AND address = ?2 AND status IN ('active', 'disabled', 'suspended')"
        ),
        params![owner.as_str(), address.to_string()],
        |row| {
            Ok((
                AccountRow::read(row)?,
                row.get("provider_ref")?,
                row.get("hold_lease_ms")?,
                row.get("credentials_version")?,
                row.get::<_, Option<String>>("rails_counted_from")?,
            ))
        },
    )?;
    rows.into_iter()
        .next()
        .map(
            |(row, provider_ref, held_until, credentials_version, counted_from)| {
                let owned = OwnedAccount {
                    account: row.into_account()?,
                    provider_ref,
                    credentials_version,
                    rails_counted_from: counted_from.as_deref().map(parse_day).transpose()?,
                };
                Ok((owned, held_until))
            },
        )
        .transpose()
}

pub(super) const CLAIM_COLUMNS: &str =
    "address, owner, state, lease_expires_ms, token, provider, request_id, reserved_ms";

/// A claims row as stored.
pub(super) struct StoredClaim {
    address: String,
    owner: String,
    state: String,
    lease_expires_ms: i64,
    token: String,
    provider: String,
    request_id: String,
    reserved_ms: i64,
}

impl StoredClaim {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            address: row.get(0)?,
            owner: row.get(1)?,
            state: row.get(2)?,
            lease_expires_ms: row.get(3)?,
            token: row.get(4)?,
            provider: row.get(5)?,
            request_id: row.get(6)?,
            reserved_ms: row.get(7)?,
        })
    }

    /// The claim, and the reservation that wrote it.
    pub(super) fn into_parts(self) -> Result<(Claim, Reservation), StoreError> {
        let claim = Claim {
            address: EmailAddress::parse(&self.address).map_err(corrupt)?,
            owner: UserId::parse(&self.owner).map_err(corrupt)?,
            state: claim_state(&self.state)?,
            lease_expires_at: from_millis(self.lease_expires_ms)?,
        };
        let reservation = Reservation::recovered(
            claim.owner.clone(),
            claim.address.clone(),
            provider_kind(&self.provider)?,
            self.request_id,
            self.token,
            from_millis(self.reserved_ms)?,
            claim.lease_expires_at,
        );
        Ok((claim, reservation))
    }
}

pub(super) const ACCOUNT_COLUMNS: &str =
    "owner, address, display_name, provider, status, smtp_server, \
    smtp_port, smtp_username, smtp_auth, webmail, created_at, send_stats, suspension";

pub(super) struct AccountRow {
    owner: String,
    address: String,
    display_name: String,
    provider: String,
    status: String,
    smtp_server: Option<String>,
    smtp_port: Option<u16>,
    smtp_username: Option<String>,
    smtp_auth: Option<String>,
    webmail: Option<String>,
    created_at: String,
    send_stats: Option<String>,
    suspension: Option<String>,
}

impl AccountRow {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            owner: row.get(0)?,
            address: row.get(1)?,
            display_name: row.get(2)?,
            provider: row.get(3)?,
            status: row.get(4)?,
            smtp_server: row.get(5)?,
            smtp_port: row.get(6)?,
            smtp_username: row.get(7)?,
            smtp_auth: row.get(8)?,
            webmail: row.get(9)?,
            created_at: row.get(10)?,
            send_stats: row.get(11)?,
            suspension: row.get(12)?,
        })
    }

    pub(super) fn into_account(self) -> Result<Account, StoreError> {
        let address = EmailAddress::parse(&self.address).map_err(corrupt)?;
        let authentication = self
            .smtp_auth
            .as_deref()
            .and_then(SmtpAuthentication::parse);
        let smtp = match (
            self.smtp_server,
            self.smtp_port,
            self.smtp_username,
            authentication,
        ) {
            (Some(server), Some(port), Some(username), Some(authentication)) => {
                Some(SmtpSettings {
                    server,
                    port,
                    username,
                    authentication,
                })
            }
            _ => None,
        };
        Ok(Account {
            owner: UserId::parse(&self.owner).map_err(corrupt)?,
            display_name: DisplayName::parse(Some(&self.display_name), address.username())
                .map_err(corrupt)?,
            address,
            provider: provider_kind(&self.provider)?,
            status: AccountStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("bad account status {:?}", self.status)))?,
            suspension: self
                .suspension
                .as_deref()
                .map(decode_suspension)
                .transpose()?,
            smtp,
            webmail: self.webmail,
            created_at: parse_timestamp(&self.created_at)?,
            stats: decode_stats(self.send_stats.as_deref())?,
        })
    }
}

/// The `daily_quota` kinds.
pub(super) const CREATE_QUOTA: &str = "create";
pub(super) const ROTATION_QUOTA: &str = "rotation";

pub(super) const AUDIT_COLUMNS: &str =
    "at, request_id, actor, owner, new_owner, action, address, provider, error, position";

/// An audit_log row as stored.
pub(super) struct StoredAuditEntry {
    at: String,
    request_id: String,
    actor: String,
    owner: String,
    new_owner: Option<String>,
    action: String,
    address: String,
    provider: String,
    error: Option<String>,
    pub(super) position: String,
}

impl StoredAuditEntry {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            at: row.get(0)?,
            request_id: row.get(1)?,
            actor: row.get(2)?,
            owner: row.get(3)?,
            new_owner: row.get(4)?,
            action: row.get(5)?,
            address: row.get(6)?,
            provider: row.get(7)?,
            error: row.get(8)?,
            position: row.get(9)?,
        })
    }

    pub(super) fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let user = |raw: &str| UserId::parse(raw).map_err(corrupt);
        Ok(AuditEntry {
            at: parse_timestamp(&self.at)?,
            request_id: self.request_id,
            actor: user(&self.actor)?,
            owner: user(&self.owner)?,
            new_owner: self.new_owner.as_deref().map(user).transpose()?,
            action: AuditAction::parse(&self.action)
                .ok_or_else(|| corrupt(format!("bad audit action {:?}", self.action)))?,
            address: EmailAddress::parse(&self.address).map_err(corrupt)?,
            provider: provider_kind(&self.provider)?,
            error: self.error,
        })
    }
}
