//! The state a function builds once per execution environment.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::{AuthMode, Backend, Config, ConfigError};
use crate::providers::SandboxProvider;
use crate::secrets::{LocalVault, SecretVault, SecretsManagerVault};
use crate::service::{Policy, Provisioning};
use crate::store::{AccountStore, DynamoStore, SqliteStore, StoreError};

pub struct App {
    pub service: Provisioning,
    pub auth_mode: AuthMode,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl App {
    pub fn new(service: Provisioning, auth_mode: AuthMode) -> Self {
        Self { service, auth_mode }
    }

    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_config(Config::from_env()?).await
    }

    pub async fn from_config(config: Config) -> Result<Self, StartupError> {
        if config.auth_mode == AuthMode::Local {
            tracing::warn!("AUTH_MODE=local: the caller is whoever the X-User-Id header says; never use this outside a local run");
        }
        let (store, vault): (Arc<dyn AccountStore>, Arc<dyn SecretVault>) = match &config.backend {
            Backend::Local { database_path } => {
                let secrets = database_path.with_file_name("secrets");
                (
                    Arc::new(SqliteStore::open(database_path)?),
                    Arc::new(LocalVault::new(secrets)),
                )
            }
            Backend::Aws {
                table,
                secret_prefix,
            } => {
                // Region, credentials and AWS_ENDPOINT_URL come from the environment.
                let aws = aws_config::load_from_env().await;
                (
                    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)),
                    Arc::new(SecretsManagerVault::new(
                        aws_sdk_secretsmanager::Client::new(&aws),
                        secret_prefix,
                    )),
                )
            }
        };
        let policy = Policy {
            domain: config.domain,
            reserved: config.reserved,
            daily_create_limit: config.daily_create_limit,
        };
        let service = Provisioning::new(
            store,
            Arc::new(SandboxProvider::default()),
            vault,
            Arc::new(SystemClock),
            policy,
        );
        Ok(Self::new(service, config.auth_mode))
    }
}
