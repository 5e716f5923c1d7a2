//! The state a function builds once per execution environment.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::{AuthMode, Config, ConfigError};
use crate::providers::SandboxProvider;
use crate::service::{Policy, Provisioning};
use crate::store::{SqliteStore, StoreError};

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

    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_config(Config::from_env()?)
    }

    pub fn from_config(config: Config) -> Result<Self, StartupError> {
        if config.auth_mode == AuthMode::Local {
            tracing::warn!("AUTH_MODE=local: the caller is whoever the X-User-Id header says; never use this outside a local run");
        }
        let store = Arc::new(SqliteStore::open(&config.database_path)?);
        let policy = Policy {
            domain: config.domain,
            reserved: config.reserved,
            daily_create_limit: config.daily_create_limit,
        };
        let service = Provisioning::new(
            store,
            Arc::new(SandboxProvider::default()),
            Arc::new(SystemClock),
            policy,
        );
        Ok(Self::new(service, config.auth_mode))
    }
}
