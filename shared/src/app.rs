//! The state a function builds once per execution environment.

use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::clock::SystemClock;
use crate::config::{AuthMode, Backend, Config, ConfigError, ProviderKind};
use crate::providers::http::{ProviderHttp, RetryPolicy};
use crate::providers::{
    GoogleProvider, MailProvider, Microsoft365Provider, Providers, SandboxProvider,
    SendGridProvider, SesProvider,
};
use crate::secrets::{
    LocalVault, ProviderSettings, SecretVault, SecretsManagerVault, PROVIDER_SETTINGS_TTL,
};
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

/// The AWS SDK configuration, loaded only by a function that needs AWS.
/// Region, credentials and `AWS_ENDPOINT_URL` come from the environment.
#[derive(Default)]
struct Aws(OnceCell<SdkConfig>);

impl Aws {
    async fn config(&self) -> &SdkConfig {
        self.0.get_or_init(aws_config::load_from_env).await
    }
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
        let aws = Aws::default();
        let (store, vault): (Arc<dyn AccountStore>, Arc<dyn SecretVault>) = match &config.backend {
            Backend::Local { database_path } => (
                Arc::new(SqliteStore::open(database_path)?),
                Arc::new(LocalVault::new(database_path.with_file_name("secrets"))),
            ),
            Backend::Aws {
                table,
                secret_prefix,
            } => {
                let aws = aws.config().await;
                (
                    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table)),
                    Arc::new(SecretsManagerVault::new(
                        aws_sdk_secretsmanager::Client::new(aws),
                        secret_prefix,
                    )),
                )
            }
        };
        let providers = build_providers(&config, &aws).await;
        let policy = Policy {
            domain: config.domain,
            reserved: config.reserved,
            daily_create_limit: config.daily_create_limit,
        };
        let service = Provisioning::new(store, providers, vault, Arc::new(SystemClock), policy);
        Ok(Self::new(service, config.auth_mode))
    }
}

async fn build_providers(config: &Config, aws: &Aws) -> Providers {
    // Only the HTTP providers read keys: without one, no AWS configuration
    // is loaded and no Secrets Manager client made for them at start-up.
    let reads_keys = config
        .providers
        .iter()
        .any(|kind| !matches!(kind, ProviderKind::Sandbox | ProviderKind::Ses));
    let secret = match &config.provider_secret_id {
        Some(id) if reads_keys => Some((
            aws_sdk_secretsmanager::Client::new(aws.config().await),
            id.clone(),
        )),
        _ => None,
    };
    let settings = Arc::new(ProviderSettings::new(
        secret,
        |name| std::env::var(name).ok(),
        PROVIDER_SETTINGS_TTL,
    ));
    // One HTTP client for every HTTP provider, built only if one is configured.
    let mut shared_http: Option<ProviderHttp> = None;
    let mut http = || {
        shared_http
            .get_or_insert_with(|| ProviderHttp::new(RetryPolicy::default()))
            .clone()
    };
    let endpoints = &config.endpoints;
    let mut built: Vec<Arc<dyn MailProvider>> = Vec::new();
    for kind in &config.providers {
        built.push(match kind {
            ProviderKind::Sandbox => Arc::new(SandboxProvider::default()),
            ProviderKind::Sendgrid => Arc::new(SendGridProvider::new(
                http(),
                &endpoints.sendgrid_api,
                Arc::clone(&settings),
            )),
            ProviderKind::Microsoft365 => Arc::new(Microsoft365Provider::new(
                http(),
                &endpoints.microsoft_login,
                &endpoints.microsoft_graph,
                Arc::clone(&settings),
            )),
            ProviderKind::Google => Arc::new(GoogleProvider::new(
                http(),
                &endpoints.google_token,
                &endpoints.google_admin,
                Arc::clone(&settings),
            )),
            ProviderKind::Ses => {
                let aws = aws.config().await;
                Arc::new(SesProvider::new(
                    aws_sdk_sesv2::Client::new(aws),
                    aws_sdk_iam::Client::new(aws),
                    aws.region().map_or("us-east-1", |r| r.as_ref()),
                    &config.ses_iam_path,
                    config.ses_configuration_set.clone(),
                ))
            }
        });
    }
    let default = built.remove(0);
    Providers::new(default, built)
}
