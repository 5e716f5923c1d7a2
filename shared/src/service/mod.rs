//! The use cases, over the store, provider and vault traits: the read side
//! (`Directory`: check, list) that the `check` and `list` functions link,
//! and the write side (`Provisioning`: create, recovery, the changes after
//! it) that builds on it.

mod changes;
mod directory;
mod provisioning;
mod statistics;

pub use changes::{AccountCommand, Deleted};
pub use directory::{stats_coverage, Directory, StatsCoverage};
pub use provisioning::{CreateCommand, Created, Provisioning, CREATE_LEASE};
pub use statistics::Tally;

use chrono::Duration;

use crate::domain::{DomainError, DomainName, EmailAddress, ReservedNames};
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
    /// How long a deleted address stays unavailable.
    pub quarantine: Duration,
}

/// The providers a create may name, as the read side shows them (it links
/// no provider): the default first, and the domains whose creates go to
/// another one unless they name it.
#[derive(Debug, Clone)]
pub struct ProviderOffer {
    names: Vec<&'static str>,
    by_domain: Vec<(DomainName, &'static str)>,
}

impl ProviderOffer {
    /// `default` first, then `others` (the configuration lists each once).
    pub fn new(default: &'static str, others: impl IntoIterator<Item = &'static str>) -> Self {
        Self {
            names: std::iter::once(default).chain(others).collect(),
            by_domain: Vec::new(),
        }
    }

    /// Creates on `domain` go to `name` unless they name another.
    pub fn with_domain_default(mut self, domain: DomainName, name: &'static str) -> Self {
        self.by_domain.push((domain, name));
        self
    }

    /// Every offered provider, the default first.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// The provider a create on `domain` goes to when it names none.
    pub fn default_for(&self, domain: &DomainName) -> &'static str {
        self.by_domain
            .iter()
            .find(|(offered, _)| offered == domain)
            .map_or(self.names[0], |(_, name)| name)
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
}

impl Unavailability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taken => "taken",
            Self::Reserved => "reserved",
            Self::Quarantined => "quarantined",
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
    #[error("the daily limit of {limit} new addresses is reached")]
    RateLimited {
        limit: u32,
        retry_after_seconds: i64,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The same answer whether the address is someone else's or nobody's.
    #[error("you have no account {0}")]
    AccountNotFound(String),
    #[error("{0} is disabled: enable it before rotating its credentials")]
    AccountDisabled(String),
    #[error("new credentials are in place, but the old ones could not be revoked ({0}); rotate again to revoke them")]
    OldCredentialKept(ProviderError),
    #[error("the account this request made or changed, {0}, has since been deleted")]
    CreatedThenDeleted(String),
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still in progress; retry in a moment")]
    RequestInProgress,
}
