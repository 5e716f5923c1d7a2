//! The state a function builds once per execution environment: `ReadApp`
//! for `check`, `list` and `events` (the store only, so they link no
//! provider SDK and no vault), `WebhookApp` for `webhooks`, `App` for
//! `create`, `manage` and `reconcile`.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::aws::AwsSetupError;
use crate::clock::SystemClock;
use crate::config::{AuthMode, Backend, Config, ConfigError, ProviderKind};
use crate::events::SendGridWebhookKey;
use crate::providers::http::{ProviderHttp, RetryPolicy};
use crate::providers::{
    GoogleProvider, MailProvider, Microsoft365Provider, Providers, SandboxProvider,
    SendGridProvider, SesProvider,
};
use crate::secrets::{
    LocalVault, ProviderSettings, SecretVault, SecretsManagerVault, PROVIDER_SETTINGS_TTL,
};
use crate::service::{Directory, Domains, Policy, ProviderOffer, Provisioning};
use crate::store::{AccountStore, DynamoStore, SqliteStore, StoreError};

/// The read side: what `check` and `list` need.
pub struct ReadApp {
    pub directory: Directory,
    pub auth_mode: AuthMode,
}

/// What the `webhooks` function needs: the store (through the read side's
/// use cases) and the keys that verify each provider's signed requests.
pub struct WebhookApp {
    pub directory: Directory,
    pub sendgrid_key: Option<SendGridWebhookKey>,
}

impl WebhookApp {
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let read = ReadApp::from_config(&config).await?;
        Ok(Self {
            directory: read.directory,
            sendgrid_key: config.sendgrid_webhook_key,
        })
    }
}

/// The write side, with the read side it builds on (and its `auth_mode`).
pub struct App {
    pub service: Provisioning,
    read: ReadApp,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("AWS: {0}")]
    Aws(#[from] AwsSetupError),
}

/// The AWS SDK configuration, loaded once, and only by a function that
/// talks to AWS.
struct Aws {
    ca_bundle: Option<PathBuf>,
    config: OnceCell<SdkConfig>,
}

impl Aws {
    fn new(config: &Config) -> Self {
        Self {
            ca_bundle: config.aws_ca_bundle.clone(),
            config: OnceCell::new(),
        }
    }

    async fn config(&self) -> Result<&SdkConfig, AwsSetupError> {
        self.config
            .get_or_try_init(|| crate::aws::load(self.ca_bundle.as_deref()))
            .await
    }
}

impl ReadApp {
    pub fn new(directory: Directory, auth_mode: AuthMode) -> Self {
        Self {
            directory,
            auth_mode,
        }
    }

    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_config(&Config::from_env()?).await
    }

    pub async fn from_config(config: &Config) -> Result<Self, StartupError> {
        warn_if_local_auth(config);
        let store = open_store(config, &Aws::new(config)).await?;
        Ok(Self::new(directory(config, store)?, config.auth_mode))
    }
}

impl App {
    pub fn new(service: Provisioning, auth_mode: AuthMode) -> Self {
        let read = ReadApp::new(service.directory().clone(), auth_mode);
        Self { service, read }
    }

    /// The read routes' view of the same state.
    pub fn read(&self) -> &ReadApp {
        &self.read
    }

    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_config(Config::from_env()?).await
    }

    pub async fn from_config(config: Config) -> Result<Self, StartupError> {
        warn_if_local_auth(&config);
        let aws = Aws::new(&config);
        let store = open_store(&config, &aws).await?;
        let vault: Arc<dyn SecretVault> = match &config.backend {
            Backend::Local { database_path } => {
                Arc::new(LocalVault::new(database_path.with_file_name("secrets")))
            }
            Backend::Aws { secret_prefix, .. } => Arc::new(SecretsManagerVault::new(
                aws_sdk_secretsmanager::Client::new(aws.config().await?),
                secret_prefix,
            )),
        };
        let providers = build_providers(&config, &aws).await?;
        let service = Provisioning::new(directory(&config, store)?, providers, vault);
        Ok(Self::new(service, config.auth_mode))
    }
}

fn warn_if_local_auth(config: &Config) {
    if config.auth_mode == AuthMode::Local {
        tracing::warn!("AUTH_MODE=local: the caller is whoever the X-User-Id header says; never use this outside a local run");
    }
}

async fn open_store(config: &Config, aws: &Aws) -> Result<Arc<dyn AccountStore>, StartupError> {
    Ok(match &config.backend {
        Backend::Local { database_path } => Arc::new(SqliteStore::open(database_path)?),
        Backend::Aws { table, .. } => Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(aws.config().await?),
            table,
        )),
    })
}

fn directory(config: &Config, store: Arc<dyn AccountStore>) -> Result<Directory, ConfigError> {
    let Some((default, others)) = config.domains.split_first() else {
        return Err(ConfigError::Invalid {
            name: "EMAIL_DOMAINS",
            reason: "lists no domain".into(),
        });
    };
    let policy = Policy {
        domains: Domains::new(
            default.name.clone(),
            others.iter().map(|offered| offered.name.clone()),
        ),
        providers: provider_offer(config)?,
        reserved: config.reserved.clone(),
        daily_create_limit: config.daily_create_limit,
        quarantine: chrono::Duration::days(i64::from(config.quarantine_days)),
    };
    Ok(Directory::new(store, Arc::new(SystemClock), policy))
}

fn provider_offer(config: &Config) -> Result<ProviderOffer, ConfigError> {
    let Some((default, others)) = config.providers.split_first() else {
        return Err(ConfigError::Invalid {
            name: "EMAIL_PROVIDER",
            reason: "names no provider".into(),
        });
    };
    let mut offer = ProviderOffer::new(default.as_str(), others.iter().map(|kind| kind.as_str()));
    for offered in &config.domains {
        if let Some(kind) = offered.provider {
            offer = offer.with_domain_default(offered.name.clone(), kind.as_str());
        }
    }
    Ok(offer)
}

async fn build_providers(config: &Config, aws: &Aws) -> Result<Providers, StartupError> {
    // Only the HTTP providers read keys: without one, no AWS configuration
    // is loaded and no Secrets Manager client made for them at start-up.
    let reads_keys = config
        .providers
        .iter()
        .any(|kind| !matches!(kind, ProviderKind::Sandbox | ProviderKind::Ses));
    let secret = match &config.provider_secret_id {
        Some(id) if reads_keys => Some((
            aws_sdk_secretsmanager::Client::new(aws.config().await?),
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
                let aws = aws.config().await?;
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
    let mut providers = Providers::new(default, built);
    for offered in &config.domains {
        if let Some(kind) = offered.provider {
            providers = providers
                .with_domain_provider(offered.name.clone(), kind.as_str())
                .ok_or(ConfigError::Invalid {
                    name: "EMAIL_DOMAINS",
                    reason: format!("provider {} is not offered", kind.as_str()),
                })?;
        }
    }
    Ok(providers)
}
