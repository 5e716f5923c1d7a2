//! What the stores keep and hand back: claims, reservations, holds,
//! changes, audit entries, idempotency records, send events, pages.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::encoding::timestamp;
use crate::domain::{
    skeleton, utc_day, utc_month, Account, DisplayName, EmailAddress, PeriodCounts, ProviderKind,
    SealedPassword, SendEventKind, SendStats, SmtpSettings, Suspension, SuspensionReason, UserId,
};

/// Who holds an address. An address is free when it has no claim, or only a
/// pending claim whose lease has run out (its create crashed or stalled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub address: EmailAddress,
    pub owner: UserId,
    pub state: ClaimState,
    pub lease_expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    Pending,
    Active,
    /// Left by a deleted account until its lease (the quarantine) ends:
    /// mail still sent to the address must not reach a new owner at once.
    Quarantined,
}

impl Claim {
    pub fn holds_address_at(&self, now: DateTime<Utc>) -> bool {
        self.state == ClaimState::Active || self.lease_expires_at > now
    }
}

/// What a claim is indexed by so look-alikes find each other: the
/// skeleton of the local part on the address's domain (`suport@example.com`
/// for `supp0rt@example.com` and `support@example.com`).
pub fn lookalike_key(address: &EmailAddress) -> String {
    format!("{}@{}", skeleton(address.username()), address.domain())
}

/// An owner's account with what it takes to change or remove it: its
/// provider resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedAccount {
    pub account: Account,
    pub provider_ref: Option<String>,
    /// 0 for the create's credentials, one more for each rotation.
    pub credentials_version: u32,
    /// The first day the guard rails count, set by a resume (else a week back).
    pub rails_counted_from: Option<NaiveDate>,
}

/// A send-limit suspension due to lift itself at `lifts_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueLift {
    pub owner: UserId,
    pub address: EmailAddress,
    pub lifts_at: DateTime<Utc>,
}

/// What a change to a created account does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Delete,
    RotateCredentials,
    Disable,
    Enable,
    /// To another owner, with new credentials when `rotate`.
    Transfer {
        rotate: bool,
    },
    /// Sending stopped by a crossed guard rail.
    Suspend(SuspensionReason),
    /// Sending restarted after a suspension.
    Resume,
}

impl Operation {
    /// What the audit trail says when it is done.
    pub fn done(self) -> AuditAction {
        match self {
            Self::Delete => AuditAction::Deleted,
            Self::RotateCredentials => AuditAction::CredentialsRotated,
            Self::Disable => AuditAction::Disabled,
            Self::Enable => AuditAction::Enabled,
            Self::Transfer { rotate: false } => AuditAction::Transferred,
            Self::Transfer { rotate: true } => AuditAction::TransferredAndRotated,
            Self::Suspend(reason) => AuditAction::Suspended(reason),
            Self::Resume => AuditAction::Resumed,
        }
    }

    /// What the audit trail says when it failed, the account left as it was.
    pub fn failed(self) -> AuditAction {
        match self {
            Self::Delete => AuditAction::DeleteFailed,
            Self::RotateCredentials => AuditAction::RotateFailed,
            Self::Disable => AuditAction::DisableFailed,
            Self::Enable => AuditAction::EnableFailed,
            Self::Transfer { .. } => AuditAction::TransferFailed,
            Self::Suspend(_) => AuditAction::SuspendFailed,
            Self::Resume => AuditAction::ResumeFailed,
        }
    }
}

/// A change asking to hold a created account (delete, rotate, disable,
/// enable): no other change to it may start until `lease_expires_at`, past
/// which a change that died may be retried.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub owner: UserId,
    /// Who asks: the owner, or an administrator acting on the owner's account.
    pub actor: UserId,
    pub address: EmailAddress,
    pub operation: Operation,
    pub request_id: String,
    pub token: String,
    pub started_at: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
}

/// A change under way, holding its account: the request, and the account's
/// provider (read when it was held), for the audit trail.
#[derive(Debug, Clone)]
pub struct AccountHold {
    pub request: HoldRequest,
    pub provider: ProviderKind,
}

/// A credential the provider issued by a rotation (its password is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredentials {
    pub smtp_username: String,
    pub provider_ref: String,
}

/// What a change other than a delete writes when it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    CredentialsRotated(NewCredentials),
    Disabled,
    Enabled,
    /// Sending stopped by a guard rail; status `suspended`.
    Suspended(Suspension),
    /// Sending restarted; status `active`, the rails counting from
    /// `counted_from` (unchanged without). `lifted` is the suspension it ends.
    Resumed {
        lifted: Suspension,
        counted_from: Option<NaiveDate>,
    },
    /// The account, its claim and its future audit entries become `to`'s,
    /// with new credentials when the transfer rotated them.
    Transferred {
        to: UserId,
        credentials: Option<NewCredentials>,
    },
}

/// Step 2 of the create flow: what is written in one transaction.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub owner: UserId,
    pub address: EmailAddress,
    pub display_name: DisplayName,
    pub provider: ProviderKind,
    /// The API request, for the audit trail.
    pub request_id: String,
    /// Unique to this attempt: the claim and the account are this
    /// reservation's only while they carry it (request ids can repeat when
    /// an event is replayed).
    pub token: String,
    pub reserved_at: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    pub daily_limit: u32,
}

impl Reservation {
    /// A reservation rebuilt from what its claim keeps, to undo it after the
    /// request that made it died (the display name is not kept: the default).
    pub fn recovered(
        owner: UserId,
        address: EmailAddress,
        provider: ProviderKind,
        request_id: String,
        token: String,
        reserved_at: DateTime<Utc>,
        lease_expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            owner,
            display_name: DisplayName::default_for(address.username()),
            address,
            provider,
            request_id,
            token,
            reserved_at,
            lease_expires_at,
            daily_limit: 0,
        }
    }

    /// The UTC day whose creation quota this reservation counts against.
    pub fn quota_day(&self) -> String {
        utc_day(self.reserved_at)
    }
}

/// The fields of an audit entry that come from the create or the change
/// writing it.
#[derive(Clone, Copy)]
pub(crate) struct AuditSubject<'a> {
    pub owner: &'a UserId,
    pub actor: &'a UserId,
    pub request_id: &'a str,
    /// Orders entries written in the same millisecond by different requests.
    pub token: &'a str,
    pub address: &'a EmailAddress,
    pub provider: ProviderKind,
    /// For a transfer: whose the address becomes.
    pub new_owner: Option<&'a UserId>,
}

impl AuditSubject<'_> {
    /// Where the entry sorts among all entries: its time, then the writing
    /// request's token, then `action`'s step within that request, so
    /// entries of one millisecond still sort in the order they happened.
    pub fn position(&self, action: AuditAction, at: DateTime<Utc>) -> String {
        format!("{}#{}#{}", timestamp(at), self.token, action.step())
    }
}

impl<'a> From<&'a Reservation> for AuditSubject<'a> {
    fn from(reservation: &'a Reservation) -> Self {
        Self {
            owner: &reservation.owner,
            actor: &reservation.owner,
            request_id: &reservation.request_id,
            token: &reservation.token,
            address: &reservation.address,
            provider: reservation.provider,
            new_owner: None,
        }
    }
}

impl<'a> From<&'a AccountHold> for AuditSubject<'a> {
    fn from(hold: &'a AccountHold) -> Self {
        let request = &hold.request;
        Self {
            owner: &request.owner,
            actor: &request.actor,
            request_id: &request.request_id,
            token: &request.token,
            address: &request.address,
            provider: hold.provider,
            new_owner: None,
        }
    }
}

/// Step 5: what the provider gave us, with a reference to the secret that
/// holds the password (never the password itself).
#[derive(Debug, Clone)]
pub struct Activation {
    pub smtp: SmtpSettings,
    pub webmail: Option<String>,
    pub provider_ref: String,
    pub activated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    CreateStarted,
    Created,
    CreateFailed,
    /// Refused before anything was written: the address was taken, or the daily limit reached.
    CreateRejected,
    Deleted,
    /// A change that failed, leaving the account as it was.
    DeleteFailed,
    CredentialsRotated,
    RotateFailed,
    Disabled,
    DisableFailed,
    Enabled,
    EnableFailed,
    /// The account went to another owner (`AuditEntry::new_owner`).
    Transferred,
    /// The same, with new credentials: the old ones stopped working.
    TransferredAndRotated,
    TransferFailed,
    /// Sending stopped: a guard rail was crossed.
    Suspended(SuspensionReason),
    SuspendFailed,
    Resumed,
    ResumeFailed,
}

/// A committed change waiting in the outbox to be published as a
/// lifecycle event: its audit entry, and that entry's position (unique,
/// the event's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub position: String,
    pub entry: AuditEntry,
}

const AUDIT_ACTIONS: [AuditAction; 21] = [
    AuditAction::CreateStarted,
    AuditAction::Created,
    AuditAction::CreateFailed,
    AuditAction::CreateRejected,
    AuditAction::Deleted,
    AuditAction::DeleteFailed,
    AuditAction::CredentialsRotated,
    AuditAction::RotateFailed,
    AuditAction::Disabled,
    AuditAction::DisableFailed,
    AuditAction::Enabled,
    AuditAction::EnableFailed,
    AuditAction::Transferred,
    AuditAction::TransferredAndRotated,
    AuditAction::TransferFailed,
    AuditAction::Suspended(SuspensionReason::SendLimit),
    AuditAction::Suspended(SuspensionReason::BounceRate),
    AuditAction::Suspended(SuspensionReason::ComplaintRate),
    AuditAction::SuspendFailed,
    AuditAction::Resumed,
    AuditAction::ResumeFailed,
];

impl AuditAction {
    /// A change the rest of the company hears of (a lifecycle event): what
    /// succeeded and changed an address. Its audit entry goes to the outbox
    /// in the same transaction.
    pub fn announced(self) -> bool {
        matches!(
            self,
            Self::Created
                | Self::Deleted
                | Self::CredentialsRotated
                | Self::Disabled
                | Self::Enabled
                | Self::Transferred
                | Self::TransferredAndRotated
                | Self::Suspended(_)
                | Self::Resumed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateStarted => "create_started",
            Self::Created => "created",
            Self::CreateFailed => "create_failed",
            Self::CreateRejected => "create_rejected",
            Self::Deleted => "deleted",
            Self::DeleteFailed => "delete_failed",
            Self::CredentialsRotated => "credentials_rotated",
            Self::RotateFailed => "rotate_failed",
            Self::Disabled => "disabled",
            Self::DisableFailed => "disable_failed",
            Self::Enabled => "enabled",
            Self::EnableFailed => "enable_failed",
            Self::Transferred => "transferred",
            Self::TransferredAndRotated => "transferred_and_rotated",
            Self::TransferFailed => "transfer_failed",
            Self::Suspended(SuspensionReason::SendLimit) => "suspended_send_limit",
            Self::Suspended(SuspensionReason::BounceRate) => "suspended_bounce_rate",
            Self::Suspended(SuspensionReason::ComplaintRate) => "suspended_complaint_rate",
            Self::SuspendFailed => "suspend_failed",
            Self::Resumed => "resumed",
            Self::ResumeFailed => "resume_failed",
        }
    }

    /// The position of an entry within its request: a create writes
    /// `create_started` then its outcome; a change writes one entry.
    pub fn step(self) -> u8 {
        match self {
            Self::CreateStarted | Self::CreateRejected => 1,
            Self::Created | Self::CreateFailed => 2,
            Self::Deleted
            | Self::DeleteFailed
            | Self::CredentialsRotated
            | Self::RotateFailed
            | Self::Disabled
            | Self::DisableFailed
            | Self::Enabled
            | Self::EnableFailed
            | Self::Transferred
            | Self::TransferredAndRotated
            | Self::TransferFailed
            | Self::Suspended(_)
            | Self::SuspendFailed
            | Self::Resumed
            | Self::ResumeFailed => 1,
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        AUDIT_ACTIONS
            .into_iter()
            .find(|action| action.as_str() == raw)
    }

    /// The seed's `status` column: how the attempt stands after this entry.
    pub fn status(self) -> &'static str {
        match self {
            Self::CreateStarted => "pending",
            Self::Created => "success",
            Self::CreateFailed => "failed",
            Self::CreateRejected => "rejected",
            Self::Deleted => "deleted",
            Self::Disabled => "disabled",
            Self::Suspended(_) => "suspended",
            Self::CredentialsRotated
            | Self::Resumed
            | Self::Enabled
            | Self::Transferred
            | Self::TransferredAndRotated => "success",
            Self::DeleteFailed
            | Self::RotateFailed
            | Self::DisableFailed
            | Self::EnableFailed
            | Self::TransferFailed
            | Self::SuspendFailed
            | Self::ResumeFailed => "failed",
        }
    }
}

/// How long audit entries are kept unless `AUDIT_RETENTION_DAYS` says otherwise.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::days(400);

/// One line of the audit trail (the seed's `email_provisioning_logs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub request_id: String,
    /// Who did it: the owner, or an administrator.
    pub actor: UserId,
    /// Whose address it was when it happened.
    pub owner: UserId,
    /// For a transfer: whose it became.
    pub new_owner: Option<UserId>,
    pub action: AuditAction,
    pub address: EmailAddress,
    pub provider: ProviderKind,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyState {
    InProgress,
    Completed,
}

impl IdempotencyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::InProgress, Self::Completed]
            .into_iter()
            .find(|state| state.as_str() == raw)
    }
}

/// What a store keeps of a request made with an `Idempotency-Key`: the
/// hash of what was asked and, once done, the answer, with the password it
/// handed out sealed (never in clear) until the record expires.
/// Modelled on the AWS Lambda Powertools idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub state: IdempotencyState,
    pub response: Option<String>,
    pub sealed_password: Option<SealedPassword>,
    pub expires_at: DateTime<Utc>,
    /// A record still in progress past this time belongs to a request that died.
    pub in_progress_until: DateTime<Utc>,
}

/// What a completed request leaves for its replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub response: String,
    /// The password it handed out, sealed: dropped once the record expires.
    pub sealed_password: Option<SealedPassword>,
    /// The record's `expires_at`.
    pub expires_at: DateTime<Utc>,
}

/// Whether a stored record still decides the request's fate at `now`:
/// expiry is checked here, not left to TTL deletion, which may lag for days.
pub fn is_live(record: &IdempotencyRecord, now: DateTime<Utc>) -> bool {
    record.expires_at > now
        && (record.state == IdempotencyState::Completed || record.in_progress_until > now)
}

/// The answer to "may this request run?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// No live record existed: this request's in-progress record is written.
    Started,
    /// A live record exists: replay it, or refuse.
    Existing(IdempotencyRecord),
}

/// How long a counted report's key is kept: providers redeliver within
/// hours (SendGrid retries for 24 hours), never a week later.
pub const SEND_EVENT_RETENTION: Duration = Duration::days(7);

/// A provider's report about one message from one of our addresses.
#[derive(Debug, Clone)]
pub struct SendEvent {
    pub address: EmailAddress,
    pub kind: SendEventKind,
    /// How many messages it stands for: 1 for an event, a day's total for a
    /// usage report.
    pub count: u32,
    /// When it happened: the UTC day and month it counts in.
    pub at: DateTime<Utc>,
    /// The provider's own id of the report (e.g. `ses:<messageId>:Send`):
    /// a report delivered twice is counted once.
    pub event_key: String,
    pub recorded_at: DateTime<Utc>,
}

impl SendEvent {
    /// `stats` with this event counted.
    pub(crate) fn counted_in(&self, stats: &SendStats) -> SendStats {
        let day =
            PeriodCounts::record(stats.day.as_ref(), &utc_day(self.at), self.kind, self.count);
        let month = PeriodCounts::record(
            stats.month.as_ref(),
            &utc_month(self.at),
            self.kind,
            self.count,
        );
        SendStats {
            day: day.or_else(|| stats.day.clone()),
            month: month.or_else(|| stats.month.clone()),
            updated_at: Some(self.recorded_at),
        }
    }
}

/// What became of a `SendEvent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendEventOutcome {
    Counted,
    /// Its `event_key` was counted before.
    Duplicate,
    /// No created account has that address.
    NotOurs,
}

/// A page of accounts: a user's, in address order, or an administrator's
/// listing, by domain then address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub accounts: Vec<Account>,
    /// Where the next page starts (after this address) when more may follow.
    pub next_after: Option<EmailAddress>,
}

impl Page {
    /// The first `limit` of `accounts`, read one past the limit to know
    /// whether more follow: if so, the next page starts after the last kept.
    pub fn cut(mut accounts: Vec<Account>, limit: u32) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut next_after = None;
        if accounts.len() > limit {
            accounts.truncate(limit);
            next_after = accounts.last().map(|account| account.address.clone());
        }
        Self {
            accounts,
            next_after,
        }
    }
}
