//! The embedded store: one SQLite file shared by the function processes that
//! `cargo lambda watch` runs. WAL mode lets readers run beside a writer;
//! `BEGIN IMMEDIATE` plus a busy timeout serializes the writers, across
//! processes as well as across tasks.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::{
    is_live, lookalike_key, AccountChange, AccountHold, AccountStore, Activation, AuditAction,
    AuditEntry, AuditSubject, Claim, ClaimState, IdempotencyRecord, IdempotencyStart,
    IdempotencyState, OwnedAccount, Page, Reservation, SendEvent, SendEventOutcome, StoreError,
    SEND_EVENT_RETENTION,
};
use crate::domain::{
    Account, AccountStatus, DisplayName, EmailAddress, IdempotencyKey, PeriodCounts, SendCounts,
    SendStats, SmtpAuthentication, SmtpSettings, UserId,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS claims (
    address          TEXT PRIMARY KEY,
    owner            TEXT NOT NULL,
    state            TEXT NOT NULL,
    lease_expires_ms INTEGER NOT NULL,
    token            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    reserved_ms      INTEGER NOT NULL,
    -- store::lookalike_key: addresses that pass for one another share it.
    lookalike_key    TEXT
);
CREATE INDEX IF NOT EXISTS claims_by_lookalike ON claims (lookalike_key);
CREATE TABLE IF NOT EXISTS accounts (
    owner             TEXT NOT NULL,
    address           TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    provider          TEXT NOT NULL,
    provider_ref      TEXT,
    secret_ref        TEXT,
    token             TEXT NOT NULL,
    status            TEXT NOT NULL,
    smtp_server       TEXT,
    smtp_port         INTEGER,
    smtp_username     TEXT,
    smtp_auth         TEXT,
    webmail           TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    -- A change under way (delete, rotate, disable, enable) holds the
    -- account until its lease runs out.
    hold_token        TEXT,
    hold_lease_ms     INTEGER,
    -- The counters of the latest day and month, JSON (store::encode_stats).
    send_stats        TEXT,
    -- 0 for the create's credentials, one more for each rotation.
    credentials_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, address)
);
CREATE INDEX IF NOT EXISTS accounts_by_address ON accounts (address);
-- Provider reports counted, so one delivered twice counts once.
CREATE TABLE IF NOT EXISTS send_events (
    event_key  TEXT PRIMARY KEY,
    expires_ms INTEGER NOT NULL
);
-- What each user used of a daily limit: `create` or `rotation`.
CREATE TABLE IF NOT EXISTS daily_quota (
    owner TEXT NOT NULL,
    kind  TEXT NOT NULL,
    day   TEXT NOT NULL,
    used  INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, day)
);
CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      TEXT NOT NULL,
    at         TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    address    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    error      TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_by_owner ON audit_log (owner, id);
CREATE TABLE IF NOT EXISTS idempotency (
    owner                TEXT NOT NULL,
    key                  TEXT NOT NULL,
    request_hash         TEXT NOT NULL,
    state                TEXT NOT NULL,
    response             TEXT,
    expires_ms           INTEGER NOT NULL,
    in_progress_until_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);
";

/// Bumped whenever SCHEMA changes; an older file is refused with a clear message.
const SCHEMA_VERSION: i64 = 7;

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(backend)?;
        }
        let mut connection = Connection::open(path).map_err(backend)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        let has_tables: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .map_err(backend)?;
        if has_tables && version != SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "{} was written by an older version (schema {version}, now {SCHEMA_VERSION}); \
                 it holds local test data only: delete it and start again",
                path.display()
            )));
        }
        tx.execute_batch(SCHEMA).map_err(backend)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs blocking SQLite work off the async threads.
    async fn with_connection<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut connection)
        })
        .await
        .map_err(backend)?
    }

    async fn in_transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_connection(move |connection| {
            let tx = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let value = work(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(value)
        })
        .await
    }
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// All rows of a query, each read by `read`.
fn select<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(backend)?;
    let rows = statement
        .query_map(params, read)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(rows)
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp {raw:?}")))
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn audit<'a>(
    tx: &Transaction<'_>,
    subject: impl Into<AuditSubject<'a>>,
    action: AuditAction,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let subject = subject.into();
    tx.execute(
        "INSERT INTO audit_log (owner, at, request_id, action, address, provider, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            subject.owner.as_str(),
            timestamp(at),
            subject.request_id,
            action.as_str(),
            subject.address.to_string(),
            subject.provider,
            error,
        ],
    )
    .map_err(backend)?;
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

fn encode_stats(stats: &SendStats) -> String {
    let stored = StoredStats {
        day: stats.day.as_ref().map(StoredPeriod::from),
        month: stats.month.as_ref().map(StoredPeriod::from),
        updated_at: stats.updated_at,
    };
    serde_json::to_string(&stored).expect("counters serialize")
}

/// No text yet: nothing counted.
fn decode_stats(text: Option<&str>) -> Result<SendStats, StoreError> {
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
fn take_allowance(
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
fn give_back_allowance(
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
fn remember(
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
fn created_account(
    connection: &Connection,
    owner: &UserId,
    address: &EmailAddress,
) -> Result<Option<(OwnedAccount, Option<i64>)>, StoreError> {
    let rows = select(
        connection,
        &format!(
            "SELECT {ACCOUNT_COLUMNS}, provider_ref, secret_ref, hold_lease_ms,
                 credentials_version FROM accounts
             WHERE owner = ?1 AND address = ?2 AND status IN ('active', 'disabled')"
        ),
        params![owner.as_str(), address.to_string()],
        |row| {
            Ok((
                AccountRow::read(row)?,
                row.get("provider_ref")?,
                row.get("secret_ref")?,
                row.get("hold_lease_ms")?,
                row.get("credentials_version")?,
            ))
        },
    )?;
    rows.into_iter()
        .next()
        .map(
            |(row, provider_ref, secret_ref, held_until, credentials_version)| {
                let owned = OwnedAccount {
                    account: row.into_account()?,
                    provider_ref,
                    secret_ref,
                    credentials_version,
                };
                Ok((owned, held_until))
            },
        )
        .transpose()
}

const CLAIM_COLUMNS: &str =
    "address, owner, state, lease_expires_ms, token, provider, request_id, reserved_ms";

/// A claims row as stored.
struct StoredClaim {
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
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
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
    fn into_parts(self) -> Result<(Claim, Reservation), StoreError> {
        let claim = Claim {
            address: EmailAddress::parse(&self.address).map_err(corrupt)?,
            owner: UserId::parse(&self.owner).map_err(corrupt)?,
            state: claim_state(&self.state)?,
            lease_expires_at: lease_time(self.lease_expires_ms)?,
        };
        let reservation = Reservation::recovered(
            claim.owner.clone(),
            claim.address.clone(),
            self.provider,
            self.request_id,
            self.token,
            lease_time(self.reserved_ms)?,
            claim.lease_expires_at,
        );
        Ok((claim, reservation))
    }
}

fn claim_state(raw: &str) -> Result<ClaimState, StoreError> {
    match raw {
        "pending" => Ok(ClaimState::Pending),
        "active" => Ok(ClaimState::Active),
        "quarantined" => Ok(ClaimState::Quarantined),
        other => Err(corrupt(format!("bad claim state {other:?}"))),
    }
}

fn lease_time(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| corrupt(format!("bad lease time {millis}")))
}

const ACCOUNT_COLUMNS: &str = "owner, address, display_name, provider, status, smtp_server, \
    smtp_port, smtp_username, smtp_auth, webmail, created_at, send_stats";

struct AccountRow {
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
}

impl AccountRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
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
        })
    }

    fn into_account(self) -> Result<Account, StoreError> {
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
            provider: self.provider,
            status: AccountStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("bad account status {:?}", self.status)))?,
            smtp,
            webmail: self.webmail,
            created_at: parse_timestamp(&self.created_at)?,
            stats: decode_stats(self.send_stats.as_deref())?,
        })
    }
}

/// The `daily_quota` kinds.
const CREATE_QUOTA: &str = "create";
const ROTATION_QUOTA: &str = "rotation";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn lookalikes_of(&self, address: &EmailAddress) -> Result<Vec<Claim>, StoreError> {
        let (key, address) = (lookalike_key(address), address.to_string());
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE lookalike_key = ?1 AND address != ?2"
                    ),
                    params![key, address],
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(claim, _)| claim))
            .collect()
    }

    async fn count_rotation(
        &self,
        owner: &UserId,
        day: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        let (owner, day) = (owner.to_string(), day.to_string());
        self.in_transaction(move |tx| take_allowance(tx, &owner, ROTATION_QUOTA, &day, limit))
            .await
    }

    async fn refund_rotation(&self, owner: &UserId, day: &str) -> Result<(), StoreError> {
        let (owner, day) = (owner.to_string(), day.to_string());
        self.in_transaction(move |tx| give_back_allowance(tx, &owner, ROTATION_QUOTA, &day))
            .await
    }

    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError> {
        let keys: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        let rows = self
            .with_connection(move |connection| {
                let placeholders = vec!["?"; keys.len()].join(",");
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE address IN ({placeholders})"
                    ),
                    rusqlite::params_from_iter(keys.iter()),
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(claim, _)| claim))
            .collect()
    }

    async fn reserve(&self, reservation: &Reservation) -> Result<Option<Reservation>, StoreError> {
        let reservation = reservation.clone();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let owner = reservation.owner.as_str();
            let existing = tx
                .query_row(
                    &format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE address = ?1"),
                    [&address],
                    StoredClaim::read,
                )
                .optional()
                .map_err(backend)?;
            let mut abandoned = None;
            if let Some(existing) = existing {
                let (claim, stale) = existing.into_parts()?;
                if claim.holds_address_at(reservation.reserved_at) {
                    return Err(StoreError::AddressTaken);
                }
                // A quarantine that ran out leaves nothing to clean up.
                if claim.state == ClaimState::Pending {
                    abandoned = Some(stale);
                }
            }
            if let Some(stale) = &abandoned {
                // The previous create of this address died past its lease.
                tx.execute(
                    "UPDATE accounts SET status = 'failed', updated_at = ?2
                     WHERE address = ?1 AND token = ?3 AND status = 'pending'",
                    params![address, timestamp(reservation.reserved_at), stale.token],
                )
                .map_err(backend)?;
            }

            take_allowance(
                tx,
                owner,
                CREATE_QUOTA,
                &reservation.quota_day(),
                reservation.daily_limit,
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO claims (address, owner, state, lease_expires_ms, token,
                     provider, request_id, reserved_ms, lookalike_key)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    address,
                    owner,
                    reservation.lease_expires_at.timestamp_millis(),
                    reservation.token,
                    reservation.provider,
                    reservation.request_id,
                    reservation.reserved_at.timestamp_millis(),
                    lookalike_key(&reservation.address)
                ],
            )
            .map_err(backend)?;
            let now = timestamp(reservation.reserved_at);
            tx.execute(
                "INSERT OR REPLACE INTO accounts (owner, address, display_name, provider,
                     token, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                params![
                    owner,
                    address,
                    reservation.display_name.as_str(),
                    reservation.provider,
                    reservation.token,
                    now
                ],
            )
            .map_err(backend)?;
            audit(
                tx,
                &reservation,
                AuditAction::CreateStarted,
                reservation.reserved_at,
                None,
            )?;
            Ok(abandoned)
        })
        .await
    }

    async fn seize(
        &self,
        abandoned: &Reservation,
        seizer: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (abandoned, seizer) = (abandoned.clone(), seizer.clone());
        self.in_transaction(move |tx| {
            let address = abandoned.address.to_string();
            let seized = tx
                .execute(
                    "UPDATE claims SET token = ?3, lease_expires_ms = ?4
                     WHERE address = ?1 AND token = ?2 AND state = 'pending' AND lease_expires_ms <= ?5",
                    params![
                        address,
                        abandoned.token,
                        seizer.token,
                        seizer.lease_expires_at.timestamp_millis(),
                        now.timestamp_millis()
                    ],
                )
                .map_err(backend)?;
            if seized == 1 {
                tx.execute(
                    "UPDATE accounts SET status = 'failed', updated_at = ?4
                     WHERE owner = ?1 AND address = ?2 AND token = ?3 AND status = 'pending'",
                    params![abandoned.owner.as_str(), address, abandoned.token, timestamp(now)],
                )
                .map_err(backend)?;
            }
            Ok(seized == 1)
        })
        .await
    }

    async fn abandoned_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims
                         WHERE state = 'pending' AND lease_expires_ms <= ?1"
                    ),
                    [now.timestamp_millis()],
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(_, reservation)| reservation))
            .collect()
    }

    async fn activate(
        &self,
        reservation: &Reservation,
        activation: &Activation,
    ) -> Result<(), StoreError> {
        let reservation = reservation.clone();
        let activation = activation.clone();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let claimed = tx
                .execute(
                    "UPDATE claims SET state = 'active'
                     WHERE address = ?1 AND token = ?2 AND state = 'pending'",
                    params![address, reservation.token],
                )
                .map_err(backend)?;
            if claimed != 1 {
                return Err(StoreError::ReservationLost);
            }
            tx.execute(
                "UPDATE accounts SET status = 'active', provider_ref = ?4, smtp_server = ?5,
                     smtp_port = ?6, smtp_username = ?7, webmail = ?8, updated_at = ?9,
                     secret_ref = ?10, smtp_auth = ?11
                 WHERE owner = ?1 AND address = ?2 AND token = ?3",
                params![
                    reservation.owner.as_str(),
                    address,
                    reservation.token,
                    activation.provider_ref,
                    activation.smtp.server,
                    activation.smtp.port,
                    activation.smtp.username,
                    activation.webmail,
                    timestamp(activation.activated_at),
                    activation.secret_ref,
                    activation.smtp.authentication.as_str()
                ],
            )
            .map_err(backend)?;
            audit(
                tx,
                &reservation,
                AuditAction::Created,
                activation.activated_at,
                None,
            )
        })
        .await
    }

    async fn release(
        &self,
        reservation: &Reservation,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reservation = reservation.clone();
        let error = error.to_string();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let owner = reservation.owner.as_str();
            tx.execute(
                "DELETE FROM claims WHERE address = ?1 AND token = ?2",
                params![address, reservation.token],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE accounts SET status = 'failed', updated_at = ?3
                 WHERE owner = ?1 AND address = ?2 AND token = ?4 AND status = 'pending'",
                params![owner, address, timestamp(at), reservation.token],
            )
            .map_err(backend)?;
            give_back_allowance(tx, owner, CREATE_QUOTA, &reservation.quota_day())?;
            audit(
                tx,
                &reservation,
                AuditAction::CreateFailed,
                at,
                Some(&error),
            )
        })
        .await
    }

    async fn audit_rejection(
        &self,
        reservation: &Reservation,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (reservation, reason) = (reservation.clone(), reason.to_string());
        self.in_transaction(move |tx| {
            audit(
                tx,
                &reservation,
                AuditAction::CreateRejected,
                reservation.reserved_at,
                Some(&reason),
            )
        })
        .await
    }

    async fn owned_account(
        &self,
        owner: &UserId,
        address: &EmailAddress,
    ) -> Result<Option<OwnedAccount>, StoreError> {
        let (owner, address) = (owner.clone(), address.clone());
        self.with_connection(move |connection| {
            Ok(created_account(connection, &owner, &address)?.map(|(owned, _)| owned))
        })
        .await
    }

    async fn hold_account(&self, hold: &AccountHold) -> Result<OwnedAccount, StoreError> {
        let hold = hold.clone();
        self.in_transaction(move |tx| {
            let Some((owned, held_until)) = created_account(tx, &hold.owner, &hold.address)? else {
                return Err(StoreError::AccountNotFound);
            };
            if held_until.is_some_and(|lease| lease > hold.started_at.timestamp_millis()) {
                return Err(StoreError::AccountBusy);
            }
            tx.execute(
                "UPDATE accounts SET hold_token = ?3, hold_lease_ms = ?4
                 WHERE owner = ?1 AND address = ?2",
                params![
                    hold.owner.as_str(),
                    hold.address.to_string(),
                    hold.token,
                    hold.lease_expires_at.timestamp_millis()
                ],
            )
            .map_err(backend)?;
            Ok(owned)
        })
        .await
    }

    async fn finish_removal(
        &self,
        hold: &AccountHold,
        quarantine_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let hold = hold.clone();
        self.in_transaction(move |tx| {
            let address = hold.address.to_string();
            let removed = tx
                .execute(
                    "DELETE FROM accounts WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                    params![hold.owner.as_str(), address, hold.token],
                )
                .map_err(backend)?;
            if removed == 0 {
                return Err(StoreError::ReservationLost);
            }
            if quarantine_until > hold.started_at {
                tx.execute(
                    "UPDATE claims SET state = 'quarantined', lease_expires_ms = ?2, token = ?3,
                         request_id = ?4
                     WHERE address = ?1",
                    params![
                        address,
                        quarantine_until.timestamp_millis(),
                        hold.token,
                        hold.request_id
                    ],
                )
            } else {
                tx.execute("DELETE FROM claims WHERE address = ?1", [&address])
            }
            .map_err(backend)?;
            audit(tx, &hold, AuditAction::Deleted, hold.started_at, None)
        })
        .await
    }

    async fn finish_change(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), StoreError> {
        let (hold, change) = (hold.clone(), change.clone());
        self.in_transaction(move |tx| {
            let (owner, address) = (hold.owner.as_str(), hold.address.to_string());
            let at = timestamp(hold.started_at);
            let set_status = |status: AccountStatus| {
                tx.execute(
                    "UPDATE accounts SET status = ?4, updated_at = ?5, hold_token = NULL,
                         hold_lease_ms = NULL
                     WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                    params![owner, address, hold.token, status.as_str(), at],
                )
            };
            let changed = match &change {
                AccountChange::CredentialsRotated {
                    smtp_username,
                    provider_ref,
                    secret_ref,
                } => tx.execute(
                    "UPDATE accounts SET smtp_username = ?4, provider_ref = ?5, secret_ref = ?6,
                         updated_at = ?7, hold_token = NULL, hold_lease_ms = NULL,
                         credentials_version = credentials_version + 1
                     WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                    params![
                        owner,
                        address,
                        hold.token,
                        smtp_username,
                        provider_ref,
                        secret_ref,
                        at
                    ],
                ),
                AccountChange::Disabled => set_status(AccountStatus::Disabled),
                AccountChange::Enabled => set_status(AccountStatus::Active),
            }
            .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::ReservationLost);
            }
            audit(tx, &hold, hold.operation.done(), hold.started_at, None)
        })
        .await
    }

    async fn release_hold(
        &self,
        hold: &AccountHold,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (hold, error) = (hold.clone(), error.map(str::to_string));
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE accounts SET hold_token = NULL, hold_lease_ms = NULL
                 WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                params![hold.owner.as_str(), hold.address.to_string(), hold.token],
            )
            .map_err(backend)?;
            match &error {
                Some(error) => audit(
                    tx,
                    &hold,
                    hold.operation.failed(),
                    hold.started_at,
                    Some(error),
                ),
                None => Ok(()),
            }
        })
        .await
    }

    async fn list_accounts(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let owner = owner.as_str().to_string();
        let after = after.map(ToString::to_string).unwrap_or_default();
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM accounts
                         WHERE owner = ?1 AND status != 'failed' AND address > ?2
                         ORDER BY address LIMIT ?3"
                    ),
                    params![owner, after, i64::from(limit) + 1],
                    AccountRow::read,
                )
            })
            .await?;
        let mut accounts = rows
            .into_iter()
            .map(AccountRow::into_account)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if accounts.len() > limit as usize {
            accounts.truncate(limit as usize);
            accounts.last().map(|account| account.address.clone())
        } else {
            None
        };
        Ok(Page {
            accounts,
            next_after,
        })
    }

    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError> {
        let event = event.clone();
        self.in_transaction(move |tx| {
            let account: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT owner, send_stats FROM accounts
                     WHERE address = ?1 AND status IN ('active', 'disabled')",
                    [event.address.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((owner, kept)) = account else {
                return Ok(SendEventOutcome::NotOurs);
            };
            if !remember(tx, &event.event_key, event.recorded_at)? {
                return Ok(SendEventOutcome::Duplicate);
            }
            let counted = event.counted_in(&decode_stats(kept.as_deref())?);
            tx.execute(
                "UPDATE accounts SET send_stats = ?3 WHERE owner = ?1 AND address = ?2",
                params![owner, event.address.to_string(), encode_stats(&counted)],
            )
            .map_err(backend)?;
            Ok(SendEventOutcome::Counted)
        })
        .await
    }

    async fn remember_event(
        &self,
        event_key: &str,
        recorded_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let event_key = event_key.to_string();
        self.in_transaction(move |tx| remember(tx, &event_key, recorded_at))
            .await
    }

    async fn count_created_accounts(&self) -> Result<u64, StoreError> {
        self.with_connection(|connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM accounts WHERE status IN ('active', 'disabled')",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .map(|count| count.unsigned_abs())
                .map_err(backend)
        })
        .await
    }

    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let owner = owner.as_str().to_string();
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    "SELECT at, request_id, action, address, provider, error
                     FROM audit_log WHERE owner = ?1 ORDER BY id",
                    [owner],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, Option<String>>(5)?,
                        ))
                    },
                )
            })
            .await?;
        rows.into_iter()
            .map(|(at, request_id, action, address, provider, error)| {
                Ok(AuditEntry {
                    at: parse_timestamp(&at)?,
                    request_id,
                    action: AuditAction::parse(&action)
                        .ok_or_else(|| corrupt(format!("bad audit action {action:?}")))?,
                    address: EmailAddress::parse(&address).map_err(corrupt)?,
                    provider,
                    error,
                })
            })
            .collect()
    }

    async fn start_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError> {
        let (owner, key, record) = (owner.to_string(), key.to_string(), record.clone());
        self.in_transaction(move |tx| {
            let existing = tx
                .query_row(
                    "SELECT request_hash, state, response, expires_ms, in_progress_until_ms
                     FROM idempotency WHERE owner = ?1 AND key = ?2",
                    params![owner, key],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, i64>(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)?;
            if let Some((request_hash, state, response, expires, in_progress_until)) = existing {
                let existing = IdempotencyRecord {
                    request_hash,
                    state: IdempotencyState::parse(&state)
                        .ok_or_else(|| corrupt(format!("bad idempotency state {state:?}")))?,
                    response,
                    expires_at: lease_time(expires)?,
                    in_progress_until: lease_time(in_progress_until)?,
                };
                if is_live(&existing, now) {
                    return Ok(IdempotencyStart::Existing(existing));
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO idempotency
                     (owner, key, request_hash, state, response, expires_ms, in_progress_until_ms)
                 VALUES (?1, ?2, ?3, 'in_progress', NULL, ?4, ?5)",
                params![
                    owner,
                    key,
                    record.request_hash,
                    record.expires_at.timestamp_millis(),
                    record.in_progress_until.timestamp_millis()
                ],
            )
            .map_err(backend)?;
            Ok(IdempotencyStart::Started)
        })
        .await
    }

    async fn complete_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        response: &str,
    ) -> Result<(), StoreError> {
        let (owner, key, response) = (owner.to_string(), key.to_string(), response.to_string());
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE idempotency SET state = 'completed', response = ?3 WHERE owner = ?1 AND key = ?2",
                params![owner, key, response],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn forget_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        let (owner, key) = (owner.to_string(), key.to_string());
        self.in_transaction(move |tx| {
            tx.execute(
                "DELETE FROM idempotency WHERE owner = ?1 AND key = ?2",
                params![owner, key],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::utc_day;

    #[test]
    fn creates_its_folder_and_reopens_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/store.sqlite3");
        SqliteStore::open(&path).unwrap();
        SqliteStore::open(&path).unwrap();
        assert!(path.exists());

        let older = dir.path().join("older.sqlite3");
        Connection::open(&older)
            .unwrap()
            .execute_batch("CREATE TABLE claims (address TEXT)")
            .unwrap();
        let refused = SqliteStore::open(&older).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|message| message.contains("older version")));
        assert_eq!(
            utc_day(Utc.with_ymd_and_hms(2026, 1, 2, 23, 59, 59).unwrap()),
            "2026-01-02"
        );
    }
}
