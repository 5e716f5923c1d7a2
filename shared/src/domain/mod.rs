//! Pure rules of the product: what a username, an address, a display name and
//! a user id may be, which names are reserved, what to suggest instead, and
//! how send statistics count and roll over.
//! No I/O here; every type can only hold a valid value.

mod account;
mod address;
mod api_key;
mod display_name;
mod guard_rails;
mod idempotency_key;
mod lookalike;
pub mod mail_dns;
mod provider;
mod reserved;
mod secret;
mod send_stats;
mod suggestions;
mod usage;
mod user_id;
mod username;

pub use account::{Account, AccountStatus, SmtpAuthentication, SmtpSettings};
pub use address::{AddressFragment, DomainName, EmailAddress};
pub use api_key::{ApiKeySecret, KeyHash, KeyId, KeyName, KeyScope, KeyScopes, KEY_PREFIX};
pub use display_name::DisplayName;
pub use guard_rails::{
    next_utc_midnight, GuardRails, Lift, Suspension, SuspensionReason, RATE_MINIMUM_SENDS,
    RATE_WINDOW_DAYS,
};
pub use idempotency_key::IdempotencyKey;
pub use lookalike::{looks_like, skeleton};
pub use provider::ProviderKind;
pub use reserved::ReservedNames;
pub use secret::{SealedPassword, SmtpPassword};
pub use send_stats::{utc_day, utc_month, PeriodCounts, SendCounts, SendEventKind, SendStats};
pub use suggestions::{suggestion_candidates, MAX_SUGGESTIONS};
pub use usage::{RecordedUsage, Usage, SLOTS_KEPT_FOR_ROTATIONS};
pub use user_id::UserId;
pub use username::Username;

/// Why a value from the outside world is not acceptable; the message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    InvalidUsername(String),
    #[error("{0}")]
    InvalidDisplayName(String),
    #[error("{0}")]
    InvalidDomain(String),
    #[error("{0}")]
    InvalidUserId(String),
    #[error("{0}")]
    InvalidIdempotencyKey(String),
    /// A filter of a listing that cannot match anything valid.
    #[error("{0}")]
    InvalidQuery(String),
    /// A key's name or scopes that cannot be.
    #[error("{0}")]
    InvalidKey(String),
}
