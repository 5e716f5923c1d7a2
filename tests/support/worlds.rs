//! A "world" is one backing store and secret store, as one deployment has;
//! each `app_with` call is one more function process on it (its own
//! connection or SDK clients). Tests written against `World` run on SQLite
//! and on DynamoDB + Secrets Manager (moto_server) alike.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use provisioning::config::AuthMode;
use provisioning::providers::{MailProvider, Providers, SandboxProvider};
use provisioning::secrets::SecretsManagerVault;
use provisioning::service::Provisioning;
use provisioning::store::{DynamoStore, Store};
use provisioning::App;
use tempfile::TempDir;

use crate::moto::{self, CallLog};
use crate::{local_vault_beside, sqlite_at, Parts, TestClock};

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

    /// The names of the password secrets that exist in this world.
    async fn secrets(&self) -> Vec<String>;
}

/// One SQLite file with its secrets folder beside it.
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
            vault: local_vault_beside(&self.path),
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

    async fn secrets(&self) -> Vec<String> {
        let folder = self.path.with_file_name("secrets");
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".secret")
                    .to_string()
            })
            .collect();
        names.sort();
        names
    }
}

/// One table and one secret prefix on the emulator.
pub struct AwsWorld {
    pub config: SdkConfig,
    pub table: String,
    pub secret_prefix: String,
    clock: Arc<TestClock>,
    /// Every DynamoDB call the functions of this world made.
    pub calls: CallLog,
}

impl AwsWorld {
    pub async fn new() -> Self {
        let config = moto::sdk_config().await;
        let table = moto::create_table(&aws_sdk_dynamodb::Client::new(&config)).await;
        Self {
            config,
            table,
            secret_prefix: format!("{}/smtp/", moto::unique("test")),
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
            vault: Arc::new(SecretsManagerVault::new(
                aws_sdk_secretsmanager::Client::new(&self.config),
                &self.secret_prefix,
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

    async fn secrets(&self) -> Vec<String> {
        let client = aws_sdk_secretsmanager::Client::new(&self.config);
        let mut names = Vec::new();
        let mut pages = client.list_secrets().into_paginator().send();
        while let Some(page) = pages.next().await {
            for secret in page.unwrap().secret_list() {
                if let Some(name) = secret
                    .name()
                    .and_then(|n| n.strip_prefix(&self.secret_prefix))
                {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names
    }
}

/// A function process of `world` offering `providers` (the first the
/// default), for the jobs that go through every offered provider.
pub fn app_offering(world: &impl World, providers: Vec<Arc<dyn MailProvider>>) -> App {
    let directory = world.app().read().directory.clone();
    let vault = world.parts(Arc::clone(&providers[0])).vault;
    let (default, others) = providers.split_first().expect("at least one provider");
    App::new(
        Provisioning::new(
            directory,
            Providers::new(Arc::clone(default), others.to_vec()),
            vault,
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
