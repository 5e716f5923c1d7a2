//! The seam to persistence, split by role: each use case asks for the
//! roles it uses (`Store` holds one handle per role), and a test fake
//! implements only the role it breaks. Both backends serve every role and
//! pass the conformance suite in `tests/`, role by role, so the use cases
//! never know which one they talk to.

mod dynamodb;
mod encoding;
mod keys;
mod oversight;
mod records;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::mail_dns::DomainReading;
use crate::domain::{
    EmailAddress, IdempotencyKey, KeyHash, KeyId, ProviderKind, RecordedUsage, SendCounts, UserId,
};

pub use dynamodb::DynamoStore;
pub use keys::*;
pub use oversight::*;
pub use records::*;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the address is already taken")]
    AddressTaken,
    #[error("the daily create limit is reached")]
    QuotaExceeded,
    #[error("the reservation is no longer held by this request")]
    ReservationLost,
    #[error("no such account")]
    AccountNotFound,
    #[error("another change to this account is under way")]
    AccountBusy,
    /// Other requests kept writing the same items; nothing was written.
    #[error("other requests are changing the same records; try again")]
    Contended,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("the store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Who holds which address (the read side of check).
#[async_trait]
pub trait Claims: Send + Sync {
    /// The claims among `addresses`, read in one round trip.
    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError>;

    /// The claims of the other addresses that share `address`'s look-alike
    /// key (see `lookalike_key`), whatever their state.
    async fn lookalikes_of(&self, address: &EmailAddress) -> Result<Vec<Claim>, StoreError>;
}

/// The create flow: a reservation is written, then activated or released; abandoned ones are found and seized for their clean-up.
#[async_trait]
pub trait Reservations: Send + Sync {
    /// Atomically: count one create against the owner's daily quota, claim the
    /// address (absent, or pending with an expired lease), write the account as
    /// pending and audit `create_started`. When it took over an expired
    /// claim, returns that abandoned reservation, for the caller to clean up.
    async fn reserve(&self, reservation: &Reservation) -> Result<Option<Reservation>, StoreError>;

    /// Takes an abandoned reservation over for its clean-up: if its lease has
    /// run out at `now`, its claim gets `seizer`'s token and lease (so no
    /// create takes the address meanwhile) and its account is marked failed.
    /// `false` if someone else got there first.
    async fn seize(
        &self,
        abandoned: &Reservation,
        seizer: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Reservations whose create died: pending claims with a lease expired at `now`.
    async fn abandoned_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Atomically: claim and account become active, audit `created`.
    /// `ReservationLost` if the claim is no longer this reservation's.
    async fn activate(
        &self,
        reservation: &Reservation,
        activation: &Activation,
    ) -> Result<(), StoreError>;

    /// Undo of `reserve`: release the claim (if still ours), mark the account
    /// failed, refund the quota, audit `create_failed` with the error.
    async fn release(
        &self,
        reservation: &Reservation,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Audits a create refused by `reserve` (`reason`: what refused it).
    async fn audit_rejection(
        &self,
        reservation: &Reservation,
        reason: &str,
    ) -> Result<(), StoreError>;
}

/// Created accounts as their owners see them.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// The owner's account at `address` once created (active or disabled,
    /// not pending, not failed); `None` for an address that is not the owner's.
    async fn owned_account(
        &self,
        owner: &UserId,
        address: &EmailAddress,
    ) -> Result<Option<OwnedAccount>, StoreError>;

    /// The owner's listed accounts (not the failed ones) after `after`, at most `limit`.
    async fn list_accounts(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError>;

    /// How many created (active or disabled) accounts there are, all users',
    /// at `provider` only if given. On DynamoDB a scan: for the hourly
    /// metric, and a sandbox's capacity.
    async fn count_created_accounts(
        &self,
        provider: Option<ProviderKind>,
    ) -> Result<u64, StoreError>;
}

/// An account's changes after its create, one at a time (the hold), and the daily rotation allowance.
#[async_trait]
pub trait Changes: Send + Sync {
    /// Holds the owner's created account for `hold` and returns it as it is
    /// when held (a change decides on that, never on an earlier read):
    /// `AccountNotFound` if the owner has no such account, `AccountBusy`
    /// while another hold has it.
    async fn hold_account(&self, hold: &HoldRequest) -> Result<OwnedAccount, StoreError>;

    /// Atomically: the account goes, the claim stays as quarantined until
    /// `quarantine_until` (free at once when that is not in the future),
    /// audit `deleted`. `ReservationLost` if the hold is no longer this one.
    async fn finish_removal(
        &self,
        hold: &AccountHold,
        quarantine_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Atomically: `change` is written (a rotation also counts one more
    /// issue of the credentials), the hold let go, audited as the operation
    /// done. `ReservationLost` if the hold is no longer this one.
    async fn finish_change(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), StoreError>;

    /// The account stays as it was: the hold lets go of it, audited as the
    /// operation failed with `error`; with none, the change had nothing to
    /// do and nothing is audited.
    async fn release_hold(&self, hold: &AccountHold, error: Option<&str>)
        -> Result<(), StoreError>;

    /// Counts one credential rotation of `owner` on the UTC `day`:
    /// `QuotaExceeded` when `limit` are counted already.
    async fn count_rotation(&self, owner: &UserId, day: &str, limit: u32)
        -> Result<(), StoreError>;

    /// Gives back a rotation `count_rotation` counted, for one that failed.
    async fn refund_rotation(&self, owner: &UserId, day: &str) -> Result<(), StoreError>;

    /// The send-limit suspensions due to lift themselves at `now`.
    async fn due_lifts(&self, now: DateTime<Utc>) -> Result<Vec<DueLift>, StoreError>;

    /// Forgets a due lift whose account is gone or no longer suspended for
    /// its send limit (a resume forgets its own).
    async fn forget_lift(&self, lift: &DueLift) -> Result<(), StoreError>;
}

/// `Idempotency-Key` records (Powertools' model).
#[async_trait]
pub trait Idempotency: Send + Sync {
    /// Writes `record` (in progress) for `(owner, key)` unless a live one is
    /// there: absent, expired, or in progress past its `in_progress_until`
    /// counts as not live. Returns the live one otherwise.
    async fn start_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyStart, StoreError>;

    /// Marks the record completed with the answer to replay.
    async fn complete_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
        answer: &IdempotentAnswer,
    ) -> Result<(), StoreError>;

    /// Drops the sealed password of every record expired at `now` (an
    /// expired record is never replayed, but TTL deletion may lag for
    /// days). Returns how many it dropped.
    async fn drop_expired_passwords(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Drops the record of a request that failed, so the key can be used again.
    async fn forget_idempotent(
        &self,
        owner: &UserId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError>;
}

/// Provider reports, each counted once.
#[async_trait]
pub trait SendCounters: Send + Sync {
    /// Counts `event` against the created account at its address, once per
    /// `event_key` (kept for a week): in its day's and month's counters
    /// (see `PeriodCounts::record`).
    async fn record_send_event(&self, event: &SendEvent) -> Result<SendEventOutcome, StoreError>;

    /// Keeps `event_key` (for a week) and says whether it is new: a report
    /// that counts against no account is still counted only once.
    async fn remember_event(
        &self,
        event_key: &str,
        recorded_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// What `address` sent each UTC day from `from` to `to`, both included
    /// (days without a report left out), read consistently.
    async fn daily_counts(
        &self,
        address: &EmailAddress,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, SendCounts)>, StoreError>;
}

/// The audit trail, read back.
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// The owner's audit trail, oldest first.
    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError>;
}

/// What administrators read across every user.
#[async_trait]
pub trait Oversight: Send + Sync {
    /// The accounts (not failed creates) matching `filter`, by domain then
    /// address, after `after`, at most `limit`.
    async fn all_accounts(
        &self,
        filter: &AccountFilter,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError>;

    /// The audit entries matching `filter`, newest first, after `after`, at
    /// most `limit`; entries older than the retention are gone. Without
    /// `to`, up to now; without `from`, the retention back from `to`.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&AuditCursor>,
    ) -> Result<AuditPage, StoreError>;

    /// What each address sent per UTC day, from `from` to `to` inclusive.
    async fn daily_sends(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailySends>, StoreError>;
}

/// API keys, by their hash: never the key itself.
#[async_trait]
pub trait ApiKeys: Send + Sync {
    /// Keeps a new key; `QuotaExceeded` when its owner has `limit` already.
    async fn add_key(&self, key: &ApiKeyRecord, limit: u32) -> Result<(), StoreError>;

    /// An owner's keys, or with `None` everyone's, by owner then id.
    async fn keys_of(&self, owner: Option<&UserId>) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// The key with this hash: what a request's key is checked against.
    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Removes the key `id` of `owner` (with `None`, of whoever owns it);
    /// `false` when there is no such key.
    async fn revoke_key(&self, owner: Option<&UserId>, id: &KeyId) -> Result<bool, StoreError>;

    /// Notes that the key was used at `at` (kept to the minute: a key in
    /// constant use is not written at every request).
    async fn key_used(&self, hash: &KeyHash, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Committed changes waiting to be published as lifecycle events. Each
/// backend puts a change there in the transaction that writes its audit
/// entry, so a change that rolled back has none and one that committed
/// cannot lose it.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Up to `limit` waiting changes, oldest first, each leased to the
    /// caller until `until`; those another caller holds past `now` are
    /// left out, so two publishers rarely send one change twice.
    async fn lease_unpublished(
        &self,
        limit: usize,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// These were published: they leave the outbox.
    async fn published(&self, positions: &[String]) -> Result<(), StoreError>;
}

/// Each provider's slots as last read (by a create, or the hourly quotas
/// job): what the policy route shows without asking the providers.
#[async_trait]
pub trait UsageReadings: Send + Sync {
    /// Keeps `reading` unless a newer one of the same provider is kept.
    async fn record_usage(&self, reading: &RecordedUsage) -> Result<(), StoreError>;

    /// The latest reading of each provider, by provider name.
    async fn recorded_usage(&self) -> Result<Vec<RecordedUsage>, StoreError>;
}

/// Each domain's readiness at each provider as last checked.
#[async_trait]
pub trait DomainReadings: Send + Sync {
    /// Keeps `reading` in place of the one before, which it answers: the
    /// scheduled check alarms on a domain that was ready and is not.
    async fn record_domain_reading(
        &self,
        reading: &DomainReading,
    ) -> Result<Option<DomainReading>, StoreError>;

    /// The latest reading of each domain at each provider, by domain then provider.
    async fn domain_readings(&self) -> Result<Vec<DomainReading>, StoreError>;
}

/// One handle per role. A backend serves them all (`Store::of`); a test
/// swaps the one role it wants to break.
#[derive(Clone)]
pub struct Store {
    pub claims: Arc<dyn Claims>,
    pub reservations: Arc<dyn Reservations>,
    pub accounts: Arc<dyn Accounts>,
    pub changes: Arc<dyn Changes>,
    pub idempotency: Arc<dyn Idempotency>,
    pub send_counters: Arc<dyn SendCounters>,
    pub audit: Arc<dyn AuditTrail>,
    pub oversight: Arc<dyn Oversight>,
    pub keys: Arc<dyn ApiKeys>,
    pub outbox: Arc<dyn Outbox>,
    pub usage: Arc<dyn UsageReadings>,
    pub domains: Arc<dyn DomainReadings>,
}

impl Store {
    /// Every role served by `backend`.
    pub fn of<B>(backend: B) -> Self
    where
        B: Claims
            + Reservations
            + Accounts
            + Changes
            + Idempotency
            + SendCounters
            + AuditTrail
            + Oversight
            + ApiKeys
            + Outbox
            + UsageReadings
            + DomainReadings
            + 'static,
    {
        let backend = Arc::new(backend);
        Self {
            claims: backend.clone(),
            reservations: backend.clone(),
            accounts: backend.clone(),
            changes: backend.clone(),
            idempotency: backend.clone(),
            send_counters: backend.clone(),
            audit: backend.clone(),
            oversight: backend.clone(),
            keys: backend.clone(),
            outbox: backend.clone(),
            usage: backend.clone(),
            domains: backend,
        }
    }
}
