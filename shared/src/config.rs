//! Settings from the environment (the seed's `email-provisioning.env` names).
//! Everything has a default that runs locally with no cloud account.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::domain::{DomainName, GuardRails, ProviderKind, ReservedNames, Username};
use crate::events::SendGridWebhookKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The user id is the `sub` claim verified by API Gateway's JWT authorizer.
    Jwt,
    /// Local runs only: the user id comes from the `X-User-Id` header.
    Local,
}

/// The actions `REQUIRE_MFA_FOR` may name: those that hand out
/// credentials, destroy an address or govern others'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitiveAction {
    Create,
    Rotate,
    Delete,
    Admin,
    Keys,
}

impl SensitiveAction {
    pub const ALL: [Self; 5] = [
        Self::Create,
        Self::Rotate,
        Self::Delete,
        Self::Admin,
        Self::Keys,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Rotate => "rotate",
            Self::Delete => "delete",
            Self::Admin => "admin",
            Self::Keys => "keys",
        }
    }

    /// What the action does, for a refusal's message.
    pub fn described(self) -> &'static str {
        match self {
            Self::Create => "create an address",
            Self::Rotate => "rotate credentials",
            Self::Delete => "delete an address",
            Self::Admin => "administer",
            Self::Keys => "make, list or revoke API keys",
        }
    }
}

/// `REQUIRE_MFA_FOR` and `MFA_AMR_VALUES`: the actions that need a token
/// whose `amr` claim shows a second factor (`mfa`, or one of the values
/// the identity provider uses for it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaPolicy {
    required: Vec<SensitiveAction>,
    proofs: Vec<String>,
}

impl MfaPolicy {
    pub fn new(required: Vec<SensitiveAction>, extra_proofs: Vec<String>) -> Self {
        Self {
            required,
            proofs: extra_proofs,
        }
    }

    pub fn requires(&self, action: SensitiveAction) -> bool {
        self.required.contains(&action)
    }

    /// The sign-in methods `amr` lists include a second factor.
    pub fn proven_by(&self, amr: &[String]) -> bool {
        amr.iter()
            .any(|method| method == "mfa" || self.proofs.contains(method))
    }
}

/// Where lifecycle events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsTarget {
    /// `EVENT_BUS_NAME`: an EventBridge bus.
    Bus(String),
    /// `EVENTS_FILE`: JSON lines appended to a file (locally).
    File(PathBuf),
}

/// The events file's name beside the local database, unless `EVENTS_FILE` says.
pub const EVENTS_FILE_NAME: &str = "events.jsonl";

/// Where state and secrets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store: SQLite at `database_path`, the key that seals
    /// passwords for replays in a file beside it.
    Local { database_path: PathBuf },
    /// DynamoDB table `table`, passwords for replays sealed under the KMS
    /// key `password_key_id`.
    Aws {
        table: String,
        password_key_id: String,
    },
}

/// Where the HTTP providers' APIs are (overridable so tests can point them at fakes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEndpoints {
    pub sendgrid_api: String,
    pub microsoft_login: String,
    pub microsoft_graph: String,
    pub google_token: String,
    pub google_admin: String,
}

/// A domain users may create addresses on, and the provider that creates
/// them there when a create names none (the default provider otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedDomain {
    pub name: DomainName,
    pub provider: Option<ProviderKind>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The default domain first (`EMAIL_DOMAINS`, or `EMAIL_DOMAIN` alone).
    pub domains: Vec<OfferedDomain>,
    /// The default provider first, then the others a request may name.
    pub providers: Vec<ProviderKind>,
    pub endpoints: ProviderEndpoints,
    /// IAM path of the SES SMTP users, e.g. `/email-provisioning/`.
    pub ses_iam_path: String,
    /// SES configuration set every new identity is put on.
    pub ses_configuration_set: Option<String>,
    pub backend: Backend,
    /// `AWS_CA_BUNDLE`: roots to trust for AWS endpoints instead of Amazon's.
    pub aws_ca_bundle: Option<PathBuf>,
    /// The Secrets Manager secret holding the providers' keys, if any.
    pub provider_secret_id: Option<String>,
    pub daily_create_limit: u32,
    /// `ADDRESS_QUARANTINE_DAYS`: how long a deleted address stays unavailable.
    pub quarantine_days: u32,
    /// `AUDIT_RETENTION_DAYS`: how long audit entries (and daily send counts) are kept.
    pub audit_retention_days: u32,
    pub reserved: ReservedNames,
    pub auth_mode: AuthMode,
    /// `SENDGRID_WEBHOOK_PUBLIC_KEY`: verifies SendGrid's signed Event Webhook.
    pub sendgrid_webhook_key: Option<SendGridWebhookKey>,
    /// `GROUPS_CLAIM`: the verified token's claim that lists the caller's groups.
    pub groups_claim: String,
    /// `CREATOR_GROUPS`: who may create; empty, anyone signed in.
    pub creator_groups: Vec<String>,
    /// `ADMIN_GROUPS`: whose members are administrators.
    pub admin_groups: Vec<String>,
    /// `SENDGRID_SELF_SERVICE`: `false` offers SendGrid to administrators only.
    pub sendgrid_self_service: bool,
    /// `DAILY_ROTATION_LIMIT`: credential rotations per user per UTC day.
    pub daily_rotation_limit: u32,
    /// `ADDRESS_DAILY_SEND_LIMIT`, `ADDRESS_MAX_BOUNCE_RATE`,
    /// `ADDRESS_MAX_COMPLAINT_RATE` (percentages), `ADDRESS_SELF_RESUME`.
    pub guard_rails: GuardRails,
    /// `DIRECTORY_PROVIDER`: the one company directory for every address;
    /// `None`, each address's own provider when it hosts mailboxes.
    pub directory_provider: Option<ProviderKind>,
    /// `DIRECTORY_CHECK_BUDGET_MS`: how long a check waits for the directory.
    pub directory_check_budget: std::time::Duration,
    /// `SANDBOX_EXISTING`: local parts the sandbox's directory already has.
    pub sandbox_existing: Vec<Username>,
    /// `SANDBOX_CAPACITY`: how many addresses the sandbox holds at most.
    pub sandbox_capacity: Option<u64>,
    /// `SES_PERMISSIONS_BOUNDARY`: the managed policy every SES user is made with.
    pub ses_permissions_boundary: Option<String>,
    /// `REQUIRE_MFA_FOR` and `MFA_AMR_VALUES`.
    pub mfa: MfaPolicy,
    /// `SES_EVENT_TIME=arrival`: an SES event counts when it arrives, not
    /// at the time it carries (local runs: the files in `events/` count today).
    pub ses_events_on_arrival: bool,
    /// `DNS_RESOLVER`: the name server the domain checks ask
    /// (`127.0.0.1:5353`; port 53 if left out); `None`, the system's.
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// `GOOGLE_DKIM_SELECTOR`: the selector Google Workspace signs with, where
    /// it is not `google`.
    pub google_dkim_selector: Option<String>,
    /// `JWT_ISSUER`: the product sign-in's issuer URL (the authorizer's).
    pub jwt_issuer: Option<String>,
    /// `JWT_AUDIENCE`: the client ids its tokens may be for (the authorizer's).
    pub jwt_audiences: Vec<String>,
    /// Where lifecycle events go: `EVENT_BUS_NAME`, else `EVENTS_FILE`
    /// (by default `events.jsonl` beside the local store's database, so
    /// `.data/events.jsonl`); `None`, they wait in the outbox.
    pub events: Option<EventsTarget>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// `host:port` of a name server by its address (`127.0.0.1:5353`,
/// `[::1]:53`), or an address alone for port 53.
fn name_server(name: &'static str, raw: &str) -> Result<std::net::SocketAddr, ConfigError> {
    let raw = raw.trim();
    raw.parse()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
        .map_err(|_| {
            invalid(
                name,
                format!("{raw:?} is not a name server's address (e.g. 127.0.0.1:5353)"),
            )
        })
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

pub const DEFAULT_DATABASE_PATH: &str = ".data/email-provisioning.sqlite3";
pub const DEFAULT_DAILY_CREATE_LIMIT: u32 = 10;
pub const DEFAULT_DAILY_ROTATION_LIMIT: u32 = 10;
pub const DEFAULT_GROUPS_CLAIM: &str = "cognito:groups";
pub const DEFAULT_DIRECTORY_CHECK_BUDGET_MS: u32 = 1500;

/// What Lambda sets in every function's environment and `cargo lambda
/// watch` does not: local mode must never run there (`provided.al2023`
/// sets no `AWS_EXECUTION_ENV`).
const SET_BY_LAMBDA: [&str; 4] = [
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "LAMBDA_TASK_ROOT",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_EXECUTION_ENV",
];
pub const DEFAULT_QUARANTINE_DAYS: u32 = 30;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let provider = |name: &'static str, raw: &str| {
            ProviderKind::parse(raw).ok_or_else(|| {
                let known: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
                invalid(
                    name,
                    format!(
                        "unknown provider {raw:?}; expected one of {}",
                        known.join(", ")
                    ),
                )
            })
        };
        let mut providers = vec![provider(
            "EMAIL_PROVIDER",
            &get("EMAIL_PROVIDER").unwrap_or_else(|| "sandbox".into()),
        )?];
        for name in get("EMAIL_PROVIDERS")
            .iter()
            .flat_map(|list| list.split(','))
        {
            let kind = provider("EMAIL_PROVIDERS", name)?;
            if !providers.contains(&kind) {
                providers.push(kind);
            }
        }

        let domain_name = |name: &'static str, raw: &str| {
            DomainName::parse(raw).map_err(|error| invalid(name, error.to_string()))
        };
        let domains = match get("EMAIL_DOMAINS") {
            None => vec![OfferedDomain {
                name: domain_name(
                    "EMAIL_DOMAIN",
                    &get("EMAIL_DOMAIN").unwrap_or_else(|| "example.com".into()),
                )?,
                provider: None,
            }],
            Some(list) => {
                let mut domains: Vec<OfferedDomain> = Vec::new();
                for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    let (name, kind) = match entry.split_once('=') {
                        Some((name, kind)) => (name, Some(provider("EMAIL_DOMAINS", kind)?)),
                        None => (entry, None),
                    };
                    let name = domain_name("EMAIL_DOMAINS", name)?;
                    if domains.iter().any(|offered| offered.name == name) {
                        return Err(invalid("EMAIL_DOMAINS", format!("{name} is listed twice")));
                    }
                    domains.push(OfferedDomain {
                        name,
                        provider: kind,
                    });
                }
                if domains.is_empty() {
                    return Err(invalid("EMAIL_DOMAINS", "lists no domain"));
                }
                domains
            }
        };
        // A domain's own provider is one this deployment offers.
        for kind in domains.iter().filter_map(|offered| offered.provider) {
            if !providers.contains(&kind) {
                providers.push(kind);
            }
        }
        let url = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_string());
        let endpoints = ProviderEndpoints {
            sendgrid_api: url(
                "SENDGRID_API_URL",
                crate::providers::DEFAULT_SENDGRID_API_URL,
            ),
            microsoft_login: url(
                "MICROSOFT_LOGIN_URL",
                crate::providers::DEFAULT_MICROSOFT_LOGIN_URL,
            ),
            microsoft_graph: url(
                "MICROSOFT_GRAPH_URL",
                crate::providers::DEFAULT_MICROSOFT_GRAPH_URL,
            ),
            google_token: url(
                "GOOGLE_TOKEN_URL",
                crate::providers::DEFAULT_GOOGLE_TOKEN_URL,
            ),
            google_admin: url(
                "GOOGLE_ADMIN_URL",
                crate::providers::DEFAULT_GOOGLE_ADMIN_URL,
            ),
        };

        let backend = match get("STORE").as_deref().map(str::trim) {
            None | Some("sqlite") => Backend::Local {
                database_path: get("DATABASE_PATH")
                    .map_or_else(|| DEFAULT_DATABASE_PATH.into(), PathBuf::from),
            },
            Some("dynamodb") => Backend::Aws {
                table: get("TABLE_NAME")
                    .ok_or_else(|| invalid("TABLE_NAME", "required when STORE=dynamodb"))?,
                password_key_id: get("PASSWORD_KEY_ID")
                    .ok_or_else(|| invalid("PASSWORD_KEY_ID", "required when STORE=dynamodb"))?,
            },
            Some(other) => {
                return Err(invalid(
                    "STORE",
                    format!("unknown store {other:?}; expected sqlite or dynamodb"),
                ))
            }
        };

        let whole_number = |name: &'static str, default: u32, allowed: RangeInclusive<u32>| {
            let Some(raw) = get(name) else {
                return Ok(default);
            };
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|value| allowed.contains(value))
                .ok_or_else(|| {
                    invalid(
                        name,
                        format!(
                            "{raw:?} is not a whole number from {} to {}",
                            allowed.start(),
                            allowed.end()
                        ),
                    )
                })
        };
        let daily_create_limit = whole_number(
            "DAILY_CREATE_LIMIT",
            DEFAULT_DAILY_CREATE_LIMIT,
            1..=u32::MAX,
        )?;
        let quarantine_days =
            whole_number("ADDRESS_QUARANTINE_DAYS", DEFAULT_QUARANTINE_DAYS, 0..=3650)?;
        let audit_retention_days = whole_number(
            "AUDIT_RETENTION_DAYS",
            crate::store::DEFAULT_AUDIT_RETENTION.num_days() as u32,
            1..=3650,
        )?;
        let daily_rotation_limit = whole_number(
            "DAILY_ROTATION_LIMIT",
            DEFAULT_DAILY_ROTATION_LIMIT,
            1..=u32::MAX,
        )?;
        let directory_check_budget = whole_number(
            "DIRECTORY_CHECK_BUDGET_MS",
            DEFAULT_DIRECTORY_CHECK_BUDGET_MS,
            50..=10_000,
        )?;
        let directory_provider = match get("DIRECTORY_PROVIDER") {
            None => None,
            Some(raw) => match provider("DIRECTORY_PROVIDER", &raw)? {
                kind if kind.hosts_mailboxes() => Some(kind),
                kind => {
                    return Err(invalid(
                        "DIRECTORY_PROVIDER",
                        format!(
                            "{} keeps no directory of mailboxes; expected microsoft365 or google",
                            kind.as_str()
                        ),
                    ))
                }
            },
        };
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|raw| {
                    raw.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let flag = |name: &'static str, default: bool| match get(name).as_deref().map(str::trim) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(invalid(
                name,
                format!("{other:?} is neither true nor false"),
            )),
        };
        let sendgrid_self_service = flag("SENDGRID_SELF_SERVICE", true)?;
        // A percentage in the environment, a fraction here.
        let percentage = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
            let Some(raw) = get(name) else {
                return Ok(default);
            };
            match raw.trim().trim_end_matches('%').trim().parse::<f64>() {
                Ok(percent) if (0.0..=100.0).contains(&percent) => Ok(percent / 100.0),
                _ => Err(invalid(
                    name,
                    format!("{raw:?} is not a percentage from 0 to 100 (such as 5 or 0.1%)"),
                )),
            }
        };
        let defaults = GuardRails::default();
        let guard_rails = GuardRails {
            daily_send_limit: get("ADDRESS_DAILY_SEND_LIMIT")
                .is_some()
                .then(|| whole_number("ADDRESS_DAILY_SEND_LIMIT", 0, 1..=u32::MAX))
                .transpose()?,
            max_bounce_rate: percentage("ADDRESS_MAX_BOUNCE_RATE", defaults.max_bounce_rate)?,
            max_complaint_rate: percentage(
                "ADDRESS_MAX_COMPLAINT_RATE",
                defaults.max_complaint_rate,
            )?,
            self_resume: flag("ADDRESS_SELF_RESUME", false)?,
        };
        let sandbox_capacity = get("SANDBOX_CAPACITY")
            .is_some()
            .then(|| whole_number("SANDBOX_CAPACITY", 0, 1..=u32::MAX))
            .transpose()?
            .map(u64::from);
        let sandbox_existing = list("SANDBOX_EXISTING")
            .iter()
            .map(|name| {
                Username::parse(name)
                    .map_err(|error| invalid("SANDBOX_EXISTING", error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let reserved = get("RESERVED_USERNAMES")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(|name| {
                        Username::parse(name)
                            .map_err(|error| invalid("RESERVED_USERNAMES", error.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .map(ReservedNames::with_extra)
            .unwrap_or_default();

        let auth_mode = match get("AUTH_MODE").as_deref().map(str::trim) {
            None | Some("jwt") => AuthMode::Jwt,
            Some("local") if SET_BY_LAMBDA.iter().any(|name| get(name).is_some()) => {
                return Err(invalid(
                    "AUTH_MODE",
                    "local mode trusts the X-User-Id header and is refused inside AWS Lambda",
                ))
            }
            Some("local") => AuthMode::Local,
            Some(other) => {
                return Err(invalid(
                    "AUTH_MODE",
                    format!("unknown mode {other:?}; expected jwt or local"),
                ))
            }
        };

        let mfa_required = list("REQUIRE_MFA_FOR")
            .iter()
            .map(|name| {
                SensitiveAction::ALL
                    .into_iter()
                    .find(|action| action.as_str() == name)
                    .ok_or_else(|| {
                        invalid(
                            "REQUIRE_MFA_FOR",
                            format!(
                                "unknown action {name:?}; expected any of create, rotate, delete, admin, keys"
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let events = match (get("EVENT_BUS_NAME"), get("EVENTS_FILE"), &backend) {
            (Some(bus), _, _) => Some(EventsTarget::Bus(bus)),
            (None, Some(file), _) => Some(EventsTarget::File(file.into())),
            // Beside the database: `.data/events.jsonl` by default.
            (None, None, Backend::Local { database_path }) => Some(EventsTarget::File(
                database_path.with_file_name(EVENTS_FILE_NAME),
            )),
            (None, None, Backend::Aws { .. }) => None,
        };

        Ok(Self {
            domains,
            providers,
            endpoints,
            ses_iam_path: get("SES_IAM_PATH").unwrap_or_else(|| "/email-provisioning/".into()),
            ses_configuration_set: get("SES_CONFIGURATION_SET"),
            sendgrid_webhook_key: get("SENDGRID_WEBHOOK_PUBLIC_KEY")
                .map(|key| {
                    SendGridWebhookKey::parse(&key)
                        .map_err(|reason| invalid("SENDGRID_WEBHOOK_PUBLIC_KEY", reason))
                })
                .transpose()?,
            backend,
            aws_ca_bundle: get("AWS_CA_BUNDLE").map(PathBuf::from),
            provider_secret_id: get("PROVIDER_SECRET_ID"),
            daily_create_limit,
            quarantine_days,
            audit_retention_days,
            reserved,
            auth_mode,
            groups_claim: get("GROUPS_CLAIM").unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.into()),
            creator_groups: list("CREATOR_GROUPS"),
            admin_groups: list("ADMIN_GROUPS"),
            sendgrid_self_service,
            daily_rotation_limit,
            guard_rails,
            directory_provider,
            directory_check_budget: std::time::Duration::from_millis(u64::from(
                directory_check_budget,
            )),
            sandbox_existing,
            sandbox_capacity,
            ses_permissions_boundary: get("SES_PERMISSIONS_BOUNDARY"),
            mfa: MfaPolicy::new(mfa_required, list("MFA_AMR_VALUES")),
            ses_events_on_arrival: match get("SES_EVENT_TIME").as_deref().map(str::trim) {
                None | Some("event") => false,
                Some("arrival") => true,
                Some(other) => {
                    return Err(invalid(
                        "SES_EVENT_TIME",
                        format!("{other:?} is neither event nor arrival"),
                    ))
                }
            },
            dns_resolver: get("DNS_RESOLVER")
                .map(|raw| name_server("DNS_RESOLVER", &raw))
                .transpose()?,
            google_dkim_selector: get("GOOGLE_DKIM_SELECTOR"),
            jwt_issuer: get("JWT_ISSUER"),
            jwt_audiences: list("JWT_AUDIENCE"),
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_run_locally_and_trust_only_jwt_claims() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.domains,
            [OfferedDomain {
                name: DomainName::parse("example.com").unwrap(),
                provider: None
            }]
        );
        assert_eq!(config.providers, [ProviderKind::Sandbox]);
        assert_eq!(config.endpoints.sendgrid_api, "https://api.sendgrid.com");
        assert_eq!(config.daily_create_limit, 10);
        assert_eq!(config.quarantine_days, 30);
        assert_eq!(config.audit_retention_days, 400);
        assert_eq!(config.auth_mode, AuthMode::Jwt);
        assert_eq!(
            config.backend,
            Backend::Local {
                database_path: PathBuf::from(DEFAULT_DATABASE_PATH)
            }
        );
        assert_eq!(config.provider_secret_id, None);
    }

    #[test]
    fn local_auth_is_refused_inside_lambda() {
        // What `cargo lambda watch` sets: local mode stays possible.
        let watch = [
            ("AUTH_MODE", "local"),
            ("AWS_LAMBDA_FUNCTION_NAME", "check"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9000/.rt"),
            ("AWS_REGION", "us-east-1"),
        ];
        assert_eq!(config(&watch).unwrap().auth_mode, AuthMode::Local);
        // What the provided.al2023 runtime sets (it sets no AWS_EXECUTION_ENV):
        // each one alone is enough to refuse.
        for (name, value) in [
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/stack-CheckFunction-x",
            ),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_rust"),
        ] {
            let mut lambda = watch.to_vec();
            lambda.push((name, value));
            assert!(
                matches!(
                    config(&lambda),
                    Err(ConfigError::Invalid {
                        name: "AUTH_MODE",
                        ..
                    })
                ),
                "{name} should reveal Lambda"
            );
        }
    }

    #[test]
    fn guard_rails_are_percentages_and_a_limit() {
        let defaults = config(&[]).unwrap().guard_rails;
        assert_eq!(defaults, GuardRails::default());
        assert_eq!(
            (defaults.max_bounce_rate, defaults.max_complaint_rate),
            (0.05, 0.001)
        );
        let set = config(&[
            ("ADDRESS_DAILY_SEND_LIMIT", "200"),
            ("ADDRESS_MAX_BOUNCE_RATE", "2%"),
            ("ADDRESS_MAX_COMPLAINT_RATE", "0.5"),
            ("ADDRESS_SELF_RESUME", "true"),
        ])
        .unwrap()
        .guard_rails;
        assert_eq!(set.daily_send_limit, Some(200));
        assert_eq!((set.max_bounce_rate, set.max_complaint_rate), (0.02, 0.005));
        assert!(set.self_resume);
        assert!(
            config(&[("SES_EVENT_TIME", "arrival")])
                .unwrap()
                .ses_events_on_arrival
        );
        assert!(!config(&[]).unwrap().ses_events_on_arrival);
        for (name, value) in [
            ("ADDRESS_DAILY_SEND_LIMIT", "0"),
            ("ADDRESS_MAX_BOUNCE_RATE", "150"),
            ("ADDRESS_MAX_COMPLAINT_RATE", "some"),
            ("ADDRESS_SELF_RESUME", "yes"),
            ("SES_EVENT_TIME", "now"),
        ] {
            assert!(
                matches!(config(&[(name, value)]), Err(ConfigError::Invalid { name: reported, .. }) if reported == name),
                "{name}={value} should be refused"
            );
        }
    }

    #[test]
    fn access_settings_are_read_as_lists_and_checked() {
        let config = config(&[
            ("CREATOR_GROUPS", " staff, ops ,"),
            ("ADMIN_GROUPS", "email-admins"),
            ("SENDGRID_SELF_SERVICE", "false"),
            ("DIRECTORY_PROVIDER", "google"),
            ("SANDBOX_EXISTING", "jane.doe, Payroll-Team"),
        ])
        .unwrap();
        assert_eq!(config.creator_groups, ["staff", "ops"]);
        assert_eq!(config.admin_groups, ["email-admins"]);
        assert_eq!(config.groups_claim, "cognito:groups");
        assert!(!config.sendgrid_self_service);
        assert_eq!(config.daily_rotation_limit, 10);
        assert_eq!(config.directory_provider, Some(ProviderKind::Google));
        assert_eq!(config.sandbox_existing[1].as_str(), "payroll-team");
        for (name, value) in [
            ("DIRECTORY_PROVIDER", "sendgrid"),
            ("SENDGRID_SELF_SERVICE", "maybe"),
            ("DAILY_ROTATION_LIMIT", "0"),
            ("SANDBOX_EXISTING", "not ok"),
            ("SANDBOX_CAPACITY", "0"),
            ("SANDBOX_CAPACITY", "many"),
            ("DIRECTORY_CHECK_BUDGET_MS", "10"),
            ("REQUIRE_MFA_FOR", "create,everything"),
        ] {
            assert!(
                matches!(config_of(name, value), Err(ConfigError::Invalid { name: reported, .. }) if reported == name),
                "{name}={value} should be refused"
            );
        }
    }

    #[test]
    fn mfa_is_required_only_for_the_named_actions_and_proven_by_the_named_methods() {
        assert!(SensitiveAction::ALL
            .into_iter()
            .all(|action| !config(&[]).unwrap().mfa.requires(action)));
        let mfa = config(&[
            ("REQUIRE_MFA_FOR", "create, keys"),
            ("MFA_AMR_VALUES", "hwk,otp"),
        ])
        .unwrap()
        .mfa;
        let required: Vec<_> = SensitiveAction::ALL
            .into_iter()
            .filter(|action| mfa.requires(*action))
            .collect();
        assert_eq!(required, [SensitiveAction::Create, SensitiveAction::Keys]);
        let amr = |methods: &[&str]| methods.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert!(mfa.proven_by(&amr(&["pwd", "mfa"])));
        assert!(mfa.proven_by(&amr(&["otp"])));
        assert!(!mfa.proven_by(&amr(&["pwd"])));
        assert!(!mfa.proven_by(&[]));
        assert!(!MfaPolicy::default().proven_by(&amr(&["otp"])));
    }

    fn config_of(name: &str, value: &str) -> Result<Config, ConfigError> {
        config(&[(name, value)])
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("DAILY_CREATE_LIMIT", "ten"),
            ("DAILY_CREATE_LIMIT", "0"),
            ("ADDRESS_QUARANTINE_DAYS", "-1"),
            ("ADDRESS_QUARANTINE_DAYS", "a month"),
            ("EMAIL_DOMAIN", "localhost"),
            ("EMAIL_DOMAINS", "example.com,localhost"),
            ("EMAIL_DOMAINS", "example.com,Example.com"),
            ("EMAIL_DOMAINS", "support.example.com=postfix"),
            ("EMAIL_DOMAINS", " , "),
            ("RESERVED_USERNAMES", "ok,not ok"),
            ("AUTH_MODE", "none"),
            ("STORE", "postgres"),
            ("EMAIL_PROVIDER", "smtp"),
            ("EMAIL_PROVIDERS", "ses,mailchimp"),
        ] {
            match config(&[(name, value)]) {
                Err(ConfigError::Invalid { name: reported, .. }) => assert_eq!(reported, name),
                Ok(_) => panic!("{name}={value} should be refused"),
            }
        }
    }

    #[test]
    fn dynamodb_needs_a_table_and_a_key_to_seal_passwords() {
        assert!(matches!(
            config(&[("STORE", "dynamodb")]),
            Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                ..
            })
        ));
        assert!(matches!(
            config(&[("STORE", "dynamodb"), ("TABLE_NAME", "accounts")]),
            Err(ConfigError::Invalid {
                name: "PASSWORD_KEY_ID",
                ..
            })
        ));
        let config = config(&[
            ("STORE", "dynamodb"),
            ("TABLE_NAME", "accounts"),
            ("PASSWORD_KEY_ID", "alias/passwords"),
        ])
        .unwrap();
        assert_eq!(
            config.backend,
            Backend::Aws {
                table: "accounts".into(),
                password_key_id: "alias/passwords".into()
            }
        );
    }

    #[test]
    fn the_default_provider_comes_first_then_the_others_once() {
        let config = config(&[
            ("EMAIL_PROVIDER", "ses"),
            ("EMAIL_PROVIDERS", "sendgrid, ses,google"),
            ("SENDGRID_API_URL", "http://127.0.0.1:9999"),
        ])
        .unwrap();
        assert_eq!(
            config.providers,
            [
                ProviderKind::Ses,
                ProviderKind::Sendgrid,
                ProviderKind::Google
            ]
        );
        assert_eq!(config.endpoints.sendgrid_api, "http://127.0.0.1:9999");
    }

    #[test]
    fn reserved_usernames_extend_the_built_in_list() {
        let config = config(&[("RESERVED_USERNAMES", "ceo, Board ")]).unwrap();
        assert!(config.reserved.contains(&Username::parse("board").unwrap()));
        assert!(config
            .reserved
            .contains(&Username::parse("postmaster").unwrap()));
    }

    #[test]
    fn several_domains_the_first_by_default_each_with_its_provider() {
        let config = config(&[
            ("EMAIL_DOMAIN", "ignored.example"),
            ("EMAIL_DOMAINS", "Example.com, support.example.com=ses ,"),
        ])
        .unwrap();
        let names: Vec<&str> = config.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["example.com", "support.example.com"]);
        assert_eq!(config.domains[0].provider, None);
        assert_eq!(config.domains[1].provider, Some(ProviderKind::Ses));
        // The default provider stays first; the domain's own is offered too.
        assert_eq!(config.providers, [ProviderKind::Sandbox, ProviderKind::Ses]);
    }

    #[test]
    fn the_name_server_of_the_domain_checks_is_an_address_and_a_port() {
        assert_eq!(config(&[]).unwrap().dns_resolver, None);
        let local = config(&[("DNS_RESOLVER", "127.0.0.1:5353")]).unwrap();
        assert_eq!(local.dns_resolver, Some("127.0.0.1:5353".parse().unwrap()));
        let port_53 = config(&[("DNS_RESOLVER", "::1")]).unwrap();
        assert_eq!(port_53.dns_resolver, Some("[::1]:53".parse().unwrap()));
        let named = config(&[("DNS_RESOLVER", "dns.example.com")]);
        assert!(
            matches!(
                named,
                Err(ConfigError::Invalid {
                    name: "DNS_RESOLVER",
                    ..
                })
            ),
            "a host name cannot be resolved before the resolver exists"
        );
    }
}
