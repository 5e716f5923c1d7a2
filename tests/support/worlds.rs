//! A "world" is one backing store and master key, as one deployment has;
//! each `app_with` call is one more function process on it (its own
//! connection or SDK clients). Tests written against `World` run on SQLite
//! and on DynamoDB + KMS (moto_server) alike.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use provisioning::config::AuthMode;
use provisioning::providers::{MailProvider, Providers, SandboxProvider};
use provisioning::secrets::{KmsDataKeys, Sealer};
use provisioning::service::Provisioning;
use provisioning::store::{DynamoStore, Store};
use provisioning::App;
use tempfile::TempDir;

use crate::moto::{self, CallLog};
use crate::{local_keys_beside, sqlite_at, Parts, TestClock};

#[async_trait]
pub trait World: Send + Sync {
    /// The parts of one more function process, for a test to wrap before `.app(…)`.
    fn parts(&self, provider: Arc<dyn MailProvider>) -> Parts;

    fn app_with(&self, provider: Arc<dyn MailProvider>, limit: u32, auth: AuthMode) -> App {
        self.parts(provider).app(limit, auth)
    }

    /// A function process with the sandbox provider, 10 creates a day, JWT identity.
    fn app(&self) -> App {
        self.app_with(Arc::new(SandboxProvider::default()), 10, AuthMode::Jwt)
    }

    fn clock(&self) -> &TestClock;

    /// One more handle on the store, to look at what the functions left.
    fn store(&self) -> Store;

    /// How many passwords the store keeps, sealed for replays.
    async fn kept_passwords(&self) -> usize;

    /// Everything the store holds, as text to search.
    async fn dump(&self) -> String;
}

/// One SQLite file with its master key file beside it.
pub struct SqliteWorld {
    _dir: TempDir,
    path: PathBuf,
    clock: Arc<TestClock>,
}

impl SqliteWorld {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        Self {
            _dir: dir,
            path,
            clock: Arc::new(TestClock::default()),
        }
    }
}

impl Default for SqliteWorld {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl World for SqliteWorld {
    fn parts(&self, provider: Arc<dyn MailProvider>) -> Parts {
        Parts {
            store: sqlite_at(&self.path),
            keys: local_keys_beside(&self.path),
            provider,
            clock: Arc::clone(&self.clock),
        }
    }

    fn clock(&self) -> &TestClock {
        &self.clock
    }

    fn store(&self) -> Store {
        sqlite_at(&self.path)
    }

    async fn kept_passwords(&self) -> usize {
        let connection = rusqlite::Connection::open(&self.path).unwrap();
        connection
            .query_row(
                "SELECT count(*) FROM idempotency WHERE sealed_password IS NOT NULL",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count as usize)
            .unwrap()
    }

    /// The database file and its write-ahead log, where recent writes sit.
    async fn dump(&self) -> String {
        let wal = self.path.with_extension("sqlite3-wal");
        let mut bytes = std::fs::read(&self.path).unwrap_or_default();
        bytes.extend(std::fs::read(wal).unwrap_or_default());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// One table and one KMS key on the emulator.
pub struct AwsWorld {
    pub config: SdkConfig,
    pub table: String,
    pub password_key: String,
    clock: Arc<TestClock>,
    /// Every DynamoDB call the functions of this world made.
    pub calls: CallLog,
}

impl AwsWorld {
    pub async fn new() -> Self {
        let config = moto::sdk_config().await;
        let table = moto::create_table(&aws_sdk_dynamodb::Client::new(&config)).await;
        Self {
            password_key: moto::create_key(&config).await,
            config,
            table,
            clock: Arc::new(TestClock::default()),
            calls: CallLog::default(),
        }
    }

    /// Every item of the table, each printed whole.
    pub async fn scan_table(&self) -> Vec<String> {
        let client = aws_sdk_dynamodb::Client::new(&self.config);
        let items = client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        items.iter().map(|item| format!("{item:?}")).collect()
    }
}

#[async_trait]
impl World for AwsWorld {
    fn parts(&self, provider: Arc<dyn MailProvider>) -> Parts {
        Parts {
            store: Store::of(DynamoStore::new(
                moto::logged_dynamodb(&self.config, &self.calls),
                &self.table,
            )),
            keys: Arc::new(KmsDataKeys::new(
                aws_sdk_kms::Client::new(&self.config),
                &self.password_key,
            )),
            provider,
            clock: Arc::clone(&self.clock),
        }
    }

    fn clock(&self) -> &TestClock {
        &self.clock
    }

    fn store(&self) -> Store {
        Store::of(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            &self.table,
        ))
    }

    async fn kept_passwords(&self) -> usize {
        self.scan_table()
            .await
            .iter()
            .filter(|item| item.contains("\"sealed_password\""))
            .count()
    }

    async fn dump(&self) -> String {
        self.scan_table().await.join("\n")
    }
}

/// A function process of `world` offering `providers` (the first the
/// default), for the jobs that go through every offered provider.
pub fn app_offering(world: &impl World, providers: Vec<Arc<dyn MailProvider>>) -> App {
    let directory = world.app().read().directory.clone();
    let keys = world.parts(Arc::clone(&providers[0])).keys;
    let (default, others) = providers.split_first().expect("at least one provider");
    App::new(
        Provisioning::new(
            directory,
            Providers::new(Arc::clone(default), others.to_vec()),
            Sealer::new(keys),
            crate::dns::domain_checks(),
        ),
        AuthMode::Jwt,
    )
}

/// Inside a module of the test file, one `#[tokio::test]` per listed
/// function of the parent module (`async fn(&dyn World)`), each on a fresh
/// world made by `$world`.
#[macro_export]
macro_rules! world_tests {
    ($world:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let world = $world;
                super::$case(&world).await;
            }
        )*
    };
}
