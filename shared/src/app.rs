//! The state a function builds once per execution environment: `ReadApp`
//! for `check`, `list` and `events` (the store, and for `check` the
//! company's directory: no mail provider to change anything, no vault),
//! `WebhookApp` for `webhooks`, `App` for `create`, `manage` and the jobs.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::aws::AwsSetupError;
use crate::clock::SystemClock;
use crate::config::{
    AuthMode, Backend, Config, ConfigError, EventsTarget, MfaPolicy, DEFAULT_GROUPS_CLAIM,
};
use crate::dns::HickoryDns;
use crate::domain::ProviderKind;
use crate::events::SendGridWebhookKey;
use crate::lifecycle::{EventBridgeSink, EventSink, JsonLinesSink};
use crate::providers::http::{ProviderHttp, RetryPolicy};
use crate::providers::{
    CompanyDirectory, GoogleProvider, MailProvider, Microsoft365Provider, Providers,
    SandboxProvider, SendGridProvider, SesProvider, SesSettings,
};
use crate::secrets::{
    DataKeys, KmsDataKeys, LocalDataKeys, ProviderSettings, Sealer, PROVIDER_SETTINGS_TTL,
};
use crate::service::{
    Access, CompanyDirectories, Directory, DomainChecks, Domains, Policy, ProviderOffer,
    Provisioning,
};
use crate::store::{DynamoStore, SqliteStore, Store, StoreError};

/// The local stand-in for the KMS key, beside the SQLite database.
pub const LOCAL_PASSWORD_KEY_FILE: &str = "password.key";

/// The read side: what `check` and `list` need.
pub struct ReadApp {
    pub directory: Directory,
    pub auth_mode: AuthMode,
    /// The verified token's claim that lists the caller's groups.
    pub groups_claim: String,
    /// The actions that need a second factor.
    pub mfa: MfaPolicy,
    /// SES events count when they arrive (`SES_EVENT_TIME=arrival`).
    pub ses_events_on_arrival: bool,
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
            groups_claim: DEFAULT_GROUPS_CLAIM.into(),
            mfa: MfaPolicy::default(),
            ses_events_on_arrival: false,
        }
    }

    /// The read side of `list`, `events` and `webhooks`: it never asks the
    /// company's directory, so it builds no client for it.
    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_config(&Config::from_env()?).await
    }

    /// The read side of `check`, which asks the company's directory too.
    pub async fn checking_from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let aws = Aws::new(&config);
        let mut app = Self::with_aws(&config, &aws).await?;
        let company = Adapters::new(&config, &aws).company_directories().await?;
        app.directory = app.directory.with_company_directories(company);
        Ok(app)
    }

    pub async fn from_config(config: &Config) -> Result<Self, StartupError> {
        Self::with_aws(config, &Aws::new(config)).await
    }

    async fn with_aws(config: &Config, aws: &Aws) -> Result<Self, StartupError> {
        warn_if_local_auth(config);
        let store = open_store(config, aws).await?;
        Ok(Self {
            groups_claim: config.groups_claim.clone(),
            mfa: config.mfa.clone(),
            ses_events_on_arrival: config.ses_events_on_arrival,
            ..Self::new(directory(config, store)?, config.auth_mode)
        })
    }
}

impl App {
    pub fn new(service: Provisioning, auth_mode: AuthMode) -> Self {
        let read = ReadApp::new(service.directory().clone(), auth_mode);
        Self { service, read }
    }

    /// This write side, reading the caller's groups from `groups_claim`.
    pub fn with_groups_claim(mut self, groups_claim: &str) -> Self {
        self.read.groups_claim = groups_claim.to_string();
        self
    }

    /// This write side, asking for a second factor where `mfa` says.
    pub fn with_mfa(mut self, mfa: MfaPolicy) -> Self {
        self.read.mfa = mfa;
        self
    }

    /// This write side, counting SES events when they arrive.
    pub fn with_ses_events_on_arrival(mut self, on_arrival: bool) -> Self {
        self.read.ses_events_on_arrival = on_arrival;
        self
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
        let keys: Arc<dyn DataKeys> = match &config.backend {
            Backend::Local { database_path } => Arc::new(LocalDataKeys::new(
                database_path.with_file_name(LOCAL_PASSWORD_KEY_FILE),
            )),
            Backend::Aws {
                password_key_id, ..
            } => Arc::new(KmsDataKeys::new(
                aws_sdk_kms::Client::new(aws.config().await?),
                password_key_id,
            )),
        };
        let mut adapters = Adapters::new(&config, &aws);
        let providers = adapters.providers().await?;
        let directory = directory(&config, store)?
            .with_company_directories(adapters.company_directories().await?);
        let domains = DomainChecks::new(
            Arc::new(HickoryDns::new(config.dns_resolver)),
            config.google_dkim_selector.clone(),
        );
        let mut service = Provisioning::new(directory, providers, Sealer::new(keys), domains);
        if let Some(sink) = event_sink(&config, &aws).await? {
            service = service.with_events(sink);
        }
        Ok(Self::new(service, config.auth_mode)
            .with_groups_claim(&config.groups_claim)
            .with_mfa(config.mfa.clone())
            .with_ses_events_on_arrival(config.ses_events_on_arrival))
    }
}

async fn event_sink(
    config: &Config,
    aws: &Aws,
) -> Result<Option<Arc<dyn EventSink>>, StartupError> {
    Ok(match &config.events {
        Some(EventsTarget::Bus(bus)) => Some(Arc::new(EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(aws.config().await?),
            bus,
        ))),
        Some(EventsTarget::File(path)) => Some(Arc::new(JsonLinesSink::new(path))),
        None => None,
    })
}

fn warn_if_local_auth(config: &Config) {
    if config.auth_mode == AuthMode::Local {
        tracing::warn!("AUTH_MODE=local: the caller is whoever the X-User-Id header says; never use this outside a local run");
    }
}

async fn open_store(config: &Config, aws: &Aws) -> Result<Store, StartupError> {
    Ok(match &config.backend {
        Backend::Local { database_path } => Store::of(SqliteStore::open(database_path)?),
        Backend::Aws { table, .. } => Store::of(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(aws.config().await?), table)
                .with_audit_retention(audit_retention(config)),
        ),
    })
}

fn audit_retention(config: &Config) -> chrono::Duration {
    chrono::Duration::days(i64::from(config.audit_retention_days))
}

fn directory(config: &Config, store: Store) -> Result<Directory, ConfigError> {
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
        daily_rotation_limit: config.daily_rotation_limit,
        quarantine: chrono::Duration::days(i64::from(config.quarantine_days)),
        audit_retention: audit_retention(config),
        guard_rails: config.guard_rails,
        access: Access {
            creator_groups: config.creator_groups.clone(),
            admin_groups: config.admin_groups.clone(),
            sendgrid_administrators_only: !config.sendgrid_self_service,
        },
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
    let mut offer = ProviderOffer::new(*default, others.iter().copied());
    for offered in &config.domains {
        if let Some(kind) = offered.provider {
            offer = offer.with_domain_default(offered.name.clone(), kind);
        }
    }
    Ok(offer)
}

/// The provider adapters of one function, each made once, when first
/// needed, and shared: a mailbox provider is also its addresses' directory.
/// Only an adapter that calls an HTTP API reads the providers' keys, so a
/// deployment of SES or the sandbox loads no AWS configuration for them.
struct Adapters<'a> {
    config: &'a Config,
    aws: &'a Aws,
    settings: Option<Arc<ProviderSettings>>,
    http: Option<ProviderHttp>,
    sandbox: Option<Arc<SandboxProvider>>,
    microsoft365: Option<Arc<Microsoft365Provider>>,
    google: Option<Arc<GoogleProvider>>,
}

impl<'a> Adapters<'a> {
    fn new(config: &'a Config, aws: &'a Aws) -> Self {
        Self {
            config,
            aws,
            settings: None,
            http: None,
            sandbox: None,
            microsoft365: None,
            google: None,
        }
    }

    async fn settings(&mut self) -> Result<Arc<ProviderSettings>, StartupError> {
        if let Some(settings) = &self.settings {
            return Ok(Arc::clone(settings));
        }
        let secret = match &self.config.provider_secret_id {
            Some(id) => Some((
                aws_sdk_secretsmanager::Client::new(self.aws.config().await?),
                id.clone(),
            )),
            None => None,
        };
        let settings = Arc::new(ProviderSettings::new(
            secret,
            |name| std::env::var(name).ok(),
            PROVIDER_SETTINGS_TTL,
        ));
        self.settings = Some(Arc::clone(&settings));
        Ok(settings)
    }

    fn http(&mut self) -> ProviderHttp {
        self.http
            .get_or_insert_with(|| ProviderHttp::new(RetryPolicy::default()))
            .clone()
    }

    fn sandbox(&mut self) -> Arc<SandboxProvider> {
        let config = self.config;
        Arc::clone(self.sandbox.get_or_insert_with(|| {
            Arc::new(
                SandboxProvider::with_existing(config.sandbox_existing.clone())
                    .with_capacity(config.sandbox_capacity),
            )
        }))
    }

    async fn microsoft365(&mut self) -> Result<Arc<Microsoft365Provider>, StartupError> {
        if let Some(built) = &self.microsoft365 {
            return Ok(Arc::clone(built));
        }
        let endpoints = &self.config.endpoints;
        let built = Arc::new(Microsoft365Provider::new(
            self.http(),
            &endpoints.microsoft_login,
            &endpoints.microsoft_graph,
            self.settings().await?,
        ));
        self.microsoft365 = Some(Arc::clone(&built));
        Ok(built)
    }

    async fn google(&mut self) -> Result<Arc<GoogleProvider>, StartupError> {
        if let Some(built) = &self.google {
            return Ok(Arc::clone(built));
        }
        let endpoints = &self.config.endpoints;
        let built = Arc::new(GoogleProvider::new(
            self.http(),
            &endpoints.google_token,
            &endpoints.google_admin,
            self.settings().await?,
        ));
        self.google = Some(Arc::clone(&built));
        Ok(built)
    }

    async fn mail(&mut self, kind: ProviderKind) -> Result<Arc<dyn MailProvider>, StartupError> {
        Ok(match kind {
            ProviderKind::Sandbox => self.sandbox(),
            ProviderKind::Microsoft365 => self.microsoft365().await?,
            ProviderKind::Google => self.google().await?,
            ProviderKind::Sendgrid => Arc::new(SendGridProvider::new(
                self.http(),
                &self.config.endpoints.sendgrid_api,
                self.settings().await?,
            )),
            ProviderKind::Ses => {
                let aws = self.aws.config().await?;
                Arc::new(SesProvider::new(
                    aws_sdk_sesv2::Client::new(aws),
                    aws_sdk_iam::Client::new(aws),
                    SesSettings {
                        region: aws.region().map_or("us-east-1", |r| r.as_ref()).into(),
                        iam_path: self.config.ses_iam_path.clone(),
                        configuration_set: self.config.ses_configuration_set.clone(),
                        permissions_boundary: self.config.ses_permissions_boundary.clone(),
                    },
                ))
            }
        })
    }

    /// The directory a provider keeps, if it keeps one.
    async fn directory(
        &mut self,
        kind: ProviderKind,
    ) -> Result<Option<Arc<dyn CompanyDirectory>>, StartupError> {
        Ok(match kind {
            ProviderKind::Sandbox => Some(self.sandbox()),
            ProviderKind::Microsoft365 => Some(self.microsoft365().await?),
            ProviderKind::Google => Some(self.google().await?),
            ProviderKind::Sendgrid | ProviderKind::Ses => None,
        })
    }

    /// `DIRECTORY_PROVIDER`'s directory for every address, or else each
    /// offered provider's own.
    async fn company_directories(&mut self) -> Result<CompanyDirectories, StartupError> {
        let budget = self.config.directory_check_budget;
        if let Some(kind) = self.config.directory_provider {
            let fixed = self.directory(kind).await?.map(|found| (kind, found));
            return Ok(CompanyDirectories::new(fixed, Vec::new(), budget));
        }
        let mut own = Vec::new();
        for &kind in &self.config.providers {
            if let Some(found) = self.directory(kind).await? {
                own.push((kind, found));
            }
        }
        Ok(CompanyDirectories::new(None, own, budget))
    }

    /// The offered providers, the default first, with the domains that
    /// have their own.
    async fn providers(&mut self) -> Result<Providers, StartupError> {
        let mut built = Vec::new();
        for &kind in &self.config.providers {
            built.push(self.mail(kind).await?);
        }
        let default = built.remove(0);
        let mut providers = Providers::new(default, built);
        for offered in &self.config.domains {
            if let Some(kind) = offered.provider {
                providers = providers
                    .with_domain_provider(offered.name.clone(), kind)
                    .ok_or(ConfigError::Invalid {
                        name: "EMAIL_DOMAINS",
                        reason: format!("provider {} is not offered", kind.as_str()),
                    })?;
            }
        }
        Ok(providers)
    }
}
