//! The embedded store: one SQLite file shared by the function processes that
//! `cargo lambda watch` runs. WAL mode lets readers run beside a writer;
//! `BEGIN IMMEDIATE` plus a busy timeout serializes the writers, across
//! processes as well as across tasks.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Row, Transaction, TransactionBehavior};

use crate::store::encoding::backend;
use crate::store::StoreError;

mod accounts;
mod audit;
mod changes;
mod claims;
mod domains;
mod idempotency;
mod keys;
mod outbox;
mod oversight;
mod reservations;
mod rows;
mod send_counters;
mod usage;

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
    -- While suspended: store::encode_suspension (reason, since, version).
    suspension        TEXT,
    -- The first day the guard rails count (a resume sets it), YYYY-MM-DD.
    rails_counted_from TEXT,
    PRIMARY KEY (owner, address)
);
CREATE INDEX IF NOT EXISTS accounts_by_address ON accounts (address);
-- Provider reports counted, so one delivered twice counts once.
CREATE TABLE IF NOT EXISTS send_events (
    event_key  TEXT PRIMARY KEY,
    expires_ms INTEGER NOT NULL
);
-- What each address sent per UTC day, under the owner it had then (the report).
CREATE TABLE IF NOT EXISTS daily_sends (
    day         TEXT NOT NULL,
    address     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    provider    TEXT NOT NULL,
    sends       INTEGER NOT NULL DEFAULT 0,
    deliveries  INTEGER NOT NULL DEFAULT 0,
    bounces     INTEGER NOT NULL DEFAULT 0,
    complaints  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, address)
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
    -- AuditSubject::position: time, request token, step; newest last.
    position   TEXT NOT NULL UNIQUE,
    owner      TEXT NOT NULL,
    actor      TEXT NOT NULL,
    new_owner  TEXT,
    at         TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    address    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    error      TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_by_owner ON audit_log (owner, position);
-- API keys, by the SHA-256 of the key (never the key).
CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    owner        TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_owner ON api_keys (owner, id);
-- Committed changes not yet published as lifecycle events (the outbox):
-- written in the change's transaction, beside its audit entry; removed
-- once published. A publisher leases a row until leased_until_ms.
CREATE TABLE IF NOT EXISTS outbox (
    position        TEXT PRIMARY KEY REFERENCES audit_log (position),
    leased_until_ms INTEGER NOT NULL DEFAULT 0
);
-- Each provider's slots as last read (store::UsageReadings), for the policy.
CREATE TABLE IF NOT EXISTS provider_usage (
    provider TEXT PRIMARY KEY,
    used     INTEGER NOT NULL,
    slots    INTEGER NOT NULL,
    at       TEXT NOT NULL
);
-- Each domain's readiness as last checked (store::DomainReadings), for
-- the policy and the scheduled check's alarm.
CREATE TABLE IF NOT EXISTS domain_readings (
    domain   TEXT NOT NULL,
    provider TEXT NOT NULL,
    ready    INTEGER NOT NULL,
    reason   TEXT,
    failing  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (domain, provider)
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner                TEXT NOT NULL,
    key                  TEXT NOT NULL,
    request_hash         TEXT NOT NULL,
    state                TEXT NOT NULL,
    response             TEXT,
    -- The password the answer handed out, sealed (secrets::Sealer); set to
    -- NULL once the record expires (Idempotency::drop_expired_passwords).
    sealed_password      TEXT,
    expires_ms           INTEGER NOT NULL,
    in_progress_until_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);
";

/// Bumped whenever SCHEMA changes; an older file is refused with a clear message.
const SCHEMA_VERSION: i64 = 14;
/// Older schemas that SCHEMA completes by adding tables, once the
/// `UPGRADES` after them ran.
const UPGRADED_IN_PLACE: [i64; 5] = [9, 10, 11, 12, 13];
/// What each schema changed in existing tables: 12 keeps no reference to a
/// password's own secret and seals the password a replay may need in its
/// idempotency record instead; 13 keeps an account's suspension.
const UPGRADES: [(i64, &str); 2] = [
    (
        12,
        "ALTER TABLE accounts DROP COLUMN secret_ref;
         ALTER TABLE idempotency ADD COLUMN sealed_password TEXT;",
    ),
    (
        13,
        "ALTER TABLE accounts ADD COLUMN suspension TEXT;
         ALTER TABLE accounts ADD COLUMN rails_counted_from TEXT;",
    ),
];

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn is_busy(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        error.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::DatabaseBusy
    )
}

/// Before schema 12 each local password was kept in a file of this folder
/// beside the database: none is kept past its replay window now, so they go
/// with the upgrade.
fn remove_password_files(folder: &Path) {
    if folder.is_dir() {
        if let Err(error) = std::fs::remove_dir_all(folder) {
            tracing::warn!(folder = %folder.display(), %error, "could not remove the password files an older version kept");
        }
    }
}

pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its tables.
    /// Some steps of an open take a lock without waiting on the busy
    /// handler (the switch to WAL, the recovery of a WAL another process
    /// left): a busy open is tried again, for as long as a busy write waits.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let patience = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match Self::open_once(path) {
                Err(StoreError::Backend(error))
                    if is_busy(error.as_ref()) && std::time::Instant::now() < patience =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                opened => return opened,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(backend)?;
        }
        let mut connection = Connection::open(path).map_err(backend)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
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
        if has_tables && version != SCHEMA_VERSION && !UPGRADED_IN_PLACE.contains(&version) {
            return Err(StoreError::Corrupt(format!(
                "{} was written by an older version (schema {version}, now {SCHEMA_VERSION}); \
                 it holds local test data only: delete it and start again",
                path.display()
            )));
        }
        for (upgraded_to, upgrade) in UPGRADES {
            if has_tables && version < upgraded_to {
                tx.execute_batch(upgrade).map_err(backend)?;
            }
        }
        if has_tables && version < 12 {
            remove_password_files(&path.with_file_name("secrets"));
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

/// All rows of a query, each read by `read`.
pub(super) fn select<T>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::utc_day;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_schema_11_file_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let eleven = SCHEMA
            .replace(
                "    provider_ref      TEXT,\n",
                "    provider_ref      TEXT,\n    secret_ref        TEXT,\n",
            )
            .replace("    sealed_password      TEXT,\n", "")
            .replace("    suspension        TEXT,\n", "")
            .replace("    rails_counted_from TEXT,\n", "");
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(&eleven).unwrap();
        connection.pragma_update(None, "user_version", 11).unwrap();
        drop(connection);

        SqliteStore::open(&path).unwrap();
        let connection = Connection::open(&path).unwrap();
        let columns = |table: &str| -> Vec<String> {
            let mut statement = connection
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap();
            let names = statement.query_map([], |row| row.get(0)).unwrap();
            names.map(Result::unwrap).collect()
        };
        assert!(!columns("accounts").contains(&"secret_ref".to_string()));
        assert!(columns("idempotency").contains(&"sealed_password".to_string()));
        assert!(columns("accounts").contains(&"suspension".to_string()));
    }

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
