//! The use cases, over the store, provider and vault traits: the read side
//! (`Directory`: check, list) that the `check` and `list` functions link,
//! and the write side (`Provisioning`: create, recovery, the changes after
//! it) that builds on it.

mod administration;
mod announcements;
mod capacity;
mod changes;
mod company;
mod directory;
mod domains;
mod guard_rails;
mod keys;
mod provisioning;
mod statistics;
mod undo;

pub use administration::{
    OffboardCommand, OffboardOutcome, OffboardReport, OffboardStatus, Report, ReportGrouping,
    ReportRow, TransferCommand, Transferred, MAX_REPORT_DAYS,
};
pub use announcements::Announcer;
pub use changes::{AccountCommand, Deleted};
pub use company::CompanyDirectories;
pub use directory::{stats_coverage, Directory, StatsCoverage};
pub use domains::{DomainChecks, DomainReport, Verdict, DOMAIN_CHECK_BUDGET};
pub use guard_rails::{Guarded, GUARD_RAILS_ACTOR};
pub use keys::{IssuedKey, KeyGrant, NewKey, DEFAULT_KEY_DAYS, MAX_KEYS_PER_USER, MAX_KEY_DAYS};
pub use provisioning::{CreateCommand, Created, Provisioning, CREATE_LEASE};
pub use statistics::Tally;

use chrono::Duration;

use crate::domain::{
    DomainError, DomainName, EmailAddress, GuardRails, Lift, ProviderKind, ReservedNames,
    SuspensionReason,
};
use crate::lifecycle::PublishError;
use crate::providers::ProviderError;
use crate::secrets::SecretsError;
use crate::store::StoreError;

/// The rules a deployment is configured with.
#[derive(Debug, Clone)]
pub struct Policy {
    pub domains: Domains,
    pub providers: ProviderOffer,
    pub reserved: ReservedNames,
    pub daily_create_limit: u32,
    pub daily_rotation_limit: u32,
    /// How long a deleted address stays unavailable.
    pub quarantine: Duration,
    /// `AUDIT_RETENTION_DAYS`: how long the audit trail is kept.
    pub audit_retention: Duration,
    pub access: Access,
    /// Per-address limits that suspend an address when crossed.
    pub guard_rails: GuardRails,
}

/// Who may do what, by the groups the caller's verified token lists.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// `CREATOR_GROUPS`: empty, anyone signed in may create.
    pub creator_groups: Vec<String>,
    /// `ADMIN_GROUPS`
    pub admin_groups: Vec<String>,
    /// `SENDGRID_SELF_SERVICE=false`: SendGrid for administrators only.
    pub sendgrid_administrators_only: bool,
}

impl Access {
    pub fn may_create(&self, groups: &[String]) -> bool {
        self.creator_groups.is_empty() || in_any(groups, &self.creator_groups)
    }

    pub fn is_admin(&self, groups: &[String]) -> bool {
        in_any(groups, &self.admin_groups)
    }

    /// Whether a caller in `groups` may have addresses made at `provider`.
    pub fn may_use(&self, provider: ProviderKind, groups: &[String]) -> bool {
        let administrators_only = match provider {
            ProviderKind::Sendgrid => self.sendgrid_administrators_only,
            ProviderKind::Sandbox
            | ProviderKind::Ses
            | ProviderKind::Microsoft365
            | ProviderKind::Google => false,
        };
        !administrators_only || self.is_admin(groups)
    }
}

fn in_any(groups: &[String], allowed: &[String]) -> bool {
    groups.iter().any(|group| allowed.contains(group))
}

/// What a caller should know of a provider before a create with it:
/// whether its credentials can do no more than send as their own address,
/// and if not, a sentence saying so.
pub fn least_privilege(provider: ProviderKind) -> (bool, Option<&'static str>) {
    match provider {
        ProviderKind::Sendgrid => (
            false,
            Some(
                "A SendGrid key can send as any address of the domain, not only this one: \
                 SendGrid cannot limit a key to one sender.",
            ),
        ),
        // An IAM user bound to its From address, a mailbox of its own.
        ProviderKind::Ses
        | ProviderKind::Microsoft365
        | ProviderKind::Google
        | ProviderKind::Sandbox => (true, None),
    }
}

/// The providers a create may name, as the read side shows them (it links
/// no provider): the default first, and the domains whose creates go to
/// another one unless they name it.
#[derive(Debug, Clone)]
pub struct ProviderOffer {
    names: Vec<ProviderKind>,
    by_domain: Vec<(DomainName, ProviderKind)>,
}

impl ProviderOffer {
    /// `default` first, then `others` (the configuration lists each once).
    pub fn new(default: ProviderKind, others: impl IntoIterator<Item = ProviderKind>) -> Self {
        Self {
            names: std::iter::once(default).chain(others).collect(),
            by_domain: Vec::new(),
        }
    }

    /// Creates on `domain` go to `name` unless they name another.
    pub fn with_domain_default(mut self, domain: DomainName, kind: ProviderKind) -> Self {
        self.by_domain.push((domain, kind));
        self
    }

    /// Every offered provider, the default first.
    pub fn names(&self) -> &[ProviderKind] {
        &self.names
    }

    /// The provider a create on `domain` goes to when it names none.
    pub fn default_for(&self, domain: &DomainName) -> ProviderKind {
        self.by_domain
            .iter()
            .find(|(offered, _)| offered == domain)
            .map_or(self.names[0], |(_, kind)| *kind)
    }
}

/// The domains addresses may be created on: never empty, the default first.
#[derive(Debug, Clone)]
pub struct Domains {
    offered: Vec<DomainName>,
}

impl Domains {
    pub fn new(default: DomainName, others: impl IntoIterator<Item = DomainName>) -> Self {
        let mut offered = vec![default];
        for domain in others {
            if !offered.contains(&domain) {
                offered.push(domain);
            }
        }
        Self { offered }
    }

    pub fn default_domain(&self) -> &DomainName {
        &self.offered[0]
    }

    /// Every offered domain, the default first.
    pub fn all(&self) -> &[DomainName] {
        &self.offered
    }

    /// The offered domain `requested` names, in any case.
    pub fn find(&self, requested: &str) -> Option<&DomainName> {
        let requested = DomainName::parse(requested).ok()?;
        self.offered.iter().find(|offered| **offered == requested)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailability {
    Taken,
    Reserved,
    /// Deleted lately: held until its quarantine ends.
    Quarantined,
    /// The company's directory already has it: a mailbox, an alias or a group.
    Exists,
    /// It passes for a reserved or taken address (`supp0rt` for `support`).
    Lookalike,
}

impl Unavailability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taken => "taken",
            Self::Reserved => "reserved",
            Self::Quarantined => "quarantined",
            Self::Exists => "exists",
            Self::Lookalike => "lookalike",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub email: EmailAddress,
    pub unavailable: Option<Unavailability>,
    pub suggestions: Vec<EmailAddress>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("domain {0:?} is not offered by this service")]
    DomainNotAllowed(String),
    #[error("provider {requested:?} is not available here (available: {available})")]
    ProviderNotAvailable {
        requested: String,
        available: String,
    },
    #[error("{address} is already taken")]
    AddressTaken {
        address: EmailAddress,
        suggestions: Vec<EmailAddress>,
    },
    #[error("{address} is reserved and cannot be created")]
    AddressReserved {
        address: EmailAddress,
        suggestions: Vec<EmailAddress>,
    },
    #[error("{address} passes for {original}, which is {why}: choose a name of its own")]
    AddressLookalike {
        address: EmailAddress,
        original: String,
        why: &'static str,
        suggestions: Vec<EmailAddress>,
    },
    #[error("the daily limit of {limit} new addresses is reached")]
    RateLimited {
        limit: u32,
        retry_after_seconds: i64,
    },
    #[error("the daily limit of {limit} credential rotations is reached")]
    RotationsLimited {
        limit: u32,
        retry_after_seconds: i64,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{provider} has {used} of its {limit} slots (API keys, users or licences) in use, and the last one is kept for rotations: delete an address there, or raise the provider's limit")]
    ProviderCapacityReached {
        provider: ProviderKind,
        used: u64,
        limit: u64,
    },
    /// Mail from the domain cannot go out at the provider (an SES identity
    /// not verified, a SendGrid domain not authenticated).
    #[error("mail from {domain} cannot go out yet: {reason}")]
    DomainNotReady { domain: DomainName, reason: String },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The same answer whether the address is someone else's or nobody's.
    #[error("you have no account {0}")]
    AccountNotFound(String),
    #[error("{0} is disabled: enable it before rotating its credentials")]
    AccountDisabled(String),
    #[error("new credentials are in place, but the old ones could not be revoked ({0}); rotate again to revoke them")]
    OldCredentialKept(ProviderError),
    #[error("the account this request made or changed, {0}, has since been deleted")]
    CreatedThenDeleted(String),
    #[error("the credentials this request handed out for {0} have been rotated since: they are not shown again; rotate them to get new ones")]
    CredentialsRotated(String),
    #[error("{address} is suspended ({}): {}", reason.as_str(), lifted_by(*lift))]
    AccountSuspended {
        address: String,
        reason: SuspensionReason,
        lift: Lift,
    },
    #[error("the password this request handed out for {0} is no longer kept: rotate the credentials to get new ones")]
    PasswordNotKept(String),
    /// The same answer whether the key is someone else's or nobody's.
    #[error("you have no API key {0}")]
    KeyNotFound(String),
    #[error("{address} is already {owner}'s")]
    AlreadyOwner { address: String, owner: String },
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still in progress; retry in a moment")]
    RequestInProgress,
}

/// What lifts a suspension, said to whoever meets it.
fn lifted_by(lift: Lift) -> String {
    match lift {
        Lift::NextUtcDay(at) => format!(
            "it sent its daily limit; sending restarts by itself at {} (UTC), or when an administrator enables it",
            at.format("%Y-%m-%d %H:%M")
        ),
        Lift::Administrator => {
            "an administrator must enable it once the cause is found (a leaked password, a bad list)".into()
        }
        Lift::OwnerAfterRotation => {
            "rotate its credentials, then enable it (or ask an administrator)".into()
        }
    }
}

/// Why a held account cannot get new credentials by a transfer: a disabled
/// or suspended one sends nothing and moves as it is.
fn not_rotatable(account: &crate::domain::Account, rails: &GuardRails) -> Option<ServiceError> {
    match (account.status, account.suspension) {
        (crate::domain::AccountStatus::Disabled, _) => {
            Some(ServiceError::AccountDisabled(account.address.to_string()))
        }
        (_, Some(suspension)) => Some(ServiceError::AccountSuspended {
            address: account.address.to_string(),
            reason: suspension.reason,
            lift: rails.lift(suspension.reason, suspension.since),
        }),
        _ => None,
    }
}
