//! What administrators read across every user: filters, cursors and
//! pages of all accounts and of the audit trail, and the sends counted per
//! address and day.

use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditAction, AuditEntry};
use crate::domain::{
    Account, AccountStatus, AddressFragment, DomainName, EmailAddress, ProviderKind, SendCounts,
    UserId,
};

/// Which accounts an administrator lists; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    pub owner: Option<UserId>,
    pub domain: Option<DomainName>,
    pub provider: Option<ProviderKind>,
    pub status: Option<AccountStatus>,
    /// Part of the address.
    pub address_contains: Option<AddressFragment>,
}

impl AccountFilter {
    pub fn matches(&self, account: &Account) -> bool {
        self.owner
            .as_ref()
            .is_none_or(|owner| *owner == account.owner)
            && self
                .domain
                .as_ref()
                .is_none_or(|domain| domain == account.address.domain())
            && self
                .provider
                .is_none_or(|provider| provider == account.provider)
            && self.status.is_none_or(|status| status == account.status)
            && self
                .address_contains
                .as_ref()
                .is_none_or(|fragment| account.address.to_string().contains(fragment.as_str()))
    }
}

/// The order of the administrators' listing: by domain, then address.
pub fn listing_order(address: &EmailAddress) -> (&DomainName, &EmailAddress) {
    (address.domain(), address)
}

/// Which audit entries an administrator reads; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub address: Option<EmailAddress>,
    pub actor: Option<UserId>,
    pub owner: Option<UserId>,
    pub action: Option<AuditAction>,
    /// From this moment on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this moment (exclusive).
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.address
            .as_ref()
            .is_none_or(|address| *address == entry.address)
            && self
                .actor
                .as_ref()
                .is_none_or(|actor| *actor == entry.actor)
            && self
                .owner
                .as_ref()
                .is_none_or(|owner| *owner == entry.owner)
            && self.action.is_none_or(|action| action == entry.action)
            && self.from.is_none_or(|from| entry.at >= from)
            && self.to.is_none_or(|to| entry.at < to)
    }
}

/// Where a page of audit entries (newest first) ends: the position
/// (`AuditSubject::position`, unique and in time order) of the last entry
/// read; the next page holds the entries before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    position: String,
}

impl AuditCursor {
    /// A cursor only if `position` is one a store writes: a timestamp, a
    /// token, a step.
    pub fn new(position: &str) -> Option<Self> {
        let mut parts = position.split('#');
        let (at, token, step) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = parts.next().is_none()
            && DateTime::parse_from_rfc3339(at).is_ok()
            && !token.is_empty()
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && step.parse::<u8>().is_ok();
        valid.then(|| Self {
            position: position.to_string(),
        })
    }

    pub fn position(&self) -> &str {
        &self.position
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<AuditCursor>,
}

/// What one address sent on one UTC day, as its provider reported it,
/// under the owner it had then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySends {
    pub day: NaiveDate,
    pub address: EmailAddress,
    pub owner: UserId,
    pub provider: ProviderKind,
    pub counts: SendCounts,
}
