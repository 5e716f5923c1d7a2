//! The company's side: administrators list every address, hand one over
//! to another owner, off-board a leaver, and read the audit trail and the
//! report. Who is an administrator is the HTTP layer's to decide (the
//! groups of the verified token); these use cases trust it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::changes::{operation_hash, AccountCommand};
use super::provisioning::Replayable;
use super::{not_rotatable, Created, Directory, Provisioning, ServiceError};
use crate::deadline;
use crate::domain::{Account, AccountStatus, EmailAddress, IdempotencyKey, SealedPassword, UserId};
use crate::store::{
    AccountChange, AccountFilter, AuditAction, AuditCursor, AuditFilter, AuditPage, Operation,
    Page, StoreError,
};

/// How many addresses an off-boarding moves at once.
const OFFBOARD_CONCURRENCY: usize = 4;
/// Below this much time left, an off-boarding starts no further address:
/// a transfer with its rotation takes a few provider calls.
const OFFBOARD_TIME_PER_ADDRESS: std::time::Duration = std::time::Duration::from_secs(8);
/// The longest report: what the audit trail keeps at its default.
pub const MAX_REPORT_DAYS: i64 = 400;
/// Audit entries one round of a report reads.
const REPORT_PAGE: u32 = 1000;

/// An address handed over by an administrator.
#[derive(Debug, Clone)]
pub struct TransferCommand {
    pub admin: UserId,
    /// As the request gave it: an address that does not parse is nobody's.
    pub address: String,
    pub to: UserId,
    /// New credentials, returned once, so the copies the old owner kept stop working.
    pub rotate: bool,
    pub request_id: String,
}

#[derive(Debug, Clone)]
pub struct Transferred {
    pub previous_owner: UserId,
    /// As it is now: the new owner's.
    pub account: Account,
    /// The new credentials, when the transfer rotated them.
    pub credentials: Option<Created>,
}

/// Every address of a leaver, to another owner.
#[derive(Debug, Clone)]
pub struct OffboardCommand {
    pub admin: UserId,
    pub leaver: UserId,
    pub to: UserId,
    pub request_id: String,
}

/// What became of each of a leaver's addresses. Kept whole as the answer
/// an `Idempotency-Key` replays: it holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffboardReport {
    pub user: String,
    pub to: String,
    pub addresses: Vec<OffboardOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffboardOutcome {
    pub address: String,
    pub outcome: OffboardStatus,
    pub credentials_rotated: bool,
    /// Why it failed or was skipped, or what is left to do.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffboardStatus {
    /// Now the new owner's.
    Transferred,
    /// Still the leaver's, whole: this address's transfer failed.
    Failed,
    /// Still the leaver's: not tried this time; off-board again.
    Skipped,
}

impl Replayable for OffboardReport {
    fn record(&self, _caller: &UserId) -> String {
        serde_json::to_string(self).expect("a report of strings serializes")
    }

    async fn replay(
        _service: &Provisioning,
        _caller: &UserId,
        record: &str,
        _sealed_password: Option<&SealedPassword>,
    ) -> Result<Self, ServiceError> {
        serde_json::from_str(record).map_err(|_| {
            StoreError::Corrupt("idempotency record: bad off-boarding report".into()).into()
        })
    }
}

impl Provisioning {
    /// Hands `command.address` to `command.to`: the account, its claim and
    /// its history stay one; the old owner no longer sees it. With
    /// `rotate`, new credentials are issued first and the old ones revoked
    /// once the table has the new owner. Counts against no daily limit.
    pub async fn transfer(&self, command: TransferCommand) -> Result<Transferred, ServiceError> {
        let account_command = AccountCommand {
            caller: command.admin,
            as_admin: true,
            address: command.address,
            request_id: command.request_id,
        };
        let operation = Operation::Transfer {
            rotate: command.rotate,
        };
        let (owned, hold) = self.hold(&account_command, operation).await?;
        let previous_owner = owned.account.owner.clone();
        if previous_owner == command.to {
            self.directory
                .store
                .changes
                .release_hold(&hold, None)
                .await?;
            return Err(ServiceError::AlreadyOwner {
                address: owned.account.address.to_string(),
                owner: command.to.to_string(),
            });
        }
        let to = command.to;
        if !command.rotate {
            let change = AccountChange::Transferred {
                to: to.clone(),
                credentials: None,
            };
            self.finish(&hold, &change).await?;
            return Ok(Transferred {
                previous_owner,
                account: Account {
                    owner: to,
                    ..owned.account
                },
                credentials: None,
            });
        }
        if let Some(refusal) = not_rotatable(&owned.account, &self.directory.policy.guard_rails) {
            return Err(self.let_go(&hold, refusal).await);
        }
        let new_owner = to.clone();
        // A transfer has no Idempotency-Key: nothing replays its password.
        let mut created = self
            .rotate_held(
                owned,
                &hold,
                move |credentials| AccountChange::Transferred {
                    to: new_owner,
                    credentials: Some(credentials),
                },
                false,
            )
            .await?;
        created.account.owner = to;
        Ok(Transferred {
            previous_owner,
            account: created.account.clone(),
            credentials: Some(created),
        })
    }

    /// Moves every address of `command.leaver` to `command.to`, rotating
    /// each one's credentials so the copies the leaver kept stop working
    /// (a disabled one moves as it is: it sends nothing). Each address is
    /// its own transfer: one that fails stays the leaver's, whole, and the
    /// others still move. Addresses not reached before the invocation's
    /// time runs out are reported skipped; off-boarding again finishes them.
    pub async fn offboard_once(
        &self,
        command: OffboardCommand,
        key: Option<IdempotencyKey>,
    ) -> Result<(OffboardReport, bool), ServiceError> {
        let hash = operation_hash("offboard", &format!("{}\n{}", command.leaver, command.to));
        let admin = command.admin.clone();
        self.at_most_once(&admin, key, hash, || self.offboard(command))
            .await
    }

    async fn offboard(&self, command: OffboardCommand) -> Result<OffboardReport, ServiceError> {
        if command.leaver == command.to {
            return Err(ServiceError::AlreadyOwner {
                address: "every address".into(),
                owner: command.to.to_string(),
            });
        }
        let mut accounts = Vec::new();
        let mut after: Option<EmailAddress> = None;
        loop {
            let page = self
                .directory
                .store
                .accounts
                .list_accounts(&command.leaver, 100, after.as_ref())
                .await?;
            accounts.extend(page.accounts);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut outcomes = Vec::with_capacity(accounts.len());
        for batch in accounts.chunks(OFFBOARD_CONCURRENCY) {
            let out_of_time =
                deadline::for_provider().is_some_and(|left| left < OFFBOARD_TIME_PER_ADDRESS);
            if out_of_time {
                outcomes.extend(batch.iter().map(|account| {
                    OffboardOutcome {
                    address: account.address.to_string(),
                    outcome: OffboardStatus::Skipped,
                    credentials_rotated: false,
                    message: Some(
                        "not reached before this request's time ran out: off-board again to move it"
                            .into(),
                    ),
                }
                }));
                continue;
            }
            outcomes.extend(
                join_all(
                    batch
                        .iter()
                        .map(|account| self.offboard_one(account, &command)),
                )
                .await,
            );
        }
        Ok(OffboardReport {
            user: command.leaver.to_string(),
            to: command.to.to_string(),
            addresses: outcomes,
        })
    }

    async fn offboard_one(&self, account: &Account, command: &OffboardCommand) -> OffboardOutcome {
        let address = account.address.to_string();
        let outcome = |outcome, credentials_rotated, message: Option<String>| OffboardOutcome {
            address: address.clone(),
            outcome,
            credentials_rotated,
            message,
        };
        if account.status == AccountStatus::Pending {
            return outcome(
                OffboardStatus::Skipped,
                false,
                Some("a create of it is still under way: off-board again once it is done".into()),
            );
        }
        // A disabled or suspended address sends nothing: it moves as it is.
        let rotate = account.status == AccountStatus::Active;
        let transfer = TransferCommand {
            admin: command.admin.clone(),
            address: address.clone(),
            to: command.to.clone(),
            rotate,
            request_id: command.request_id.clone(),
        };
        match self.transfer(transfer).await {
            Ok(_) if rotate => outcome(OffboardStatus::Transferred, true, None),
            Ok(_) => outcome(
                OffboardStatus::Transferred,
                false,
                Some(
                    "disabled, so it sends nothing: its credentials were left as they were; \
                     rotate them before enabling it"
                        .into(),
                ),
            ),
            // The new credentials are the new owner's; the leaver's old one may still work.
            Err(ServiceError::OldCredentialKept(error)) => outcome(
                OffboardStatus::Transferred,
                true,
                Some(format!(
                    "moved with new credentials, but the old ones could not be revoked ({error}): \
                     rotate them again"
                )),
            ),
            Err(error) => outcome(OffboardStatus::Failed, false, Some(error.to_string())),
        }
    }
}

/// What a report counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGrouping {
    Day,
    Domain,
    Provider,
    Owner,
}

impl ReportGrouping {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "day" => Some(Self::Day),
            "domain" => Some(Self::Domain),
            "provider" => Some(Self::Provider),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Domain => "domain",
            Self::Provider => "provider",
            Self::Owner => "owner",
        }
    }
}

/// One group's counts over a report's days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub group: String,
    pub creates: u64,
    pub failed_creates: u64,
    pub deletes: u64,
    pub rotations: u64,
    pub transfers: u64,
    /// Addresses a guard rail suspended.
    pub suspensions: u64,
    pub sends: u64,
    pub deliveries: u64,
    pub bounces: u64,
    pub complaints: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: ReportGrouping,
    /// In group order.
    pub rows: Vec<ReportRow>,
}

impl Directory {
    /// Every address (failed creates left out) matching `filter`, by domain then address.
    pub async fn all_accounts(
        &self,
        filter: &AccountFilter,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, ServiceError> {
        Ok(self
            .store
            .oversight
            .all_accounts(filter, limit, after)
            .await?)
    }

    /// The audit trail, newest first, within its retention.
    pub async fn audit(
        &self,
        filter: AuditFilter,
        limit: u32,
        after: Option<&AuditCursor>,
    ) -> Result<AuditPage, ServiceError> {
        let filter = self.within_retention(filter);
        Ok(self
            .store
            .oversight
            .audit_entries(&filter, limit, after)
            .await?)
    }

    /// Creates, failed creates, deletes, rotations and transfers (from the
    /// audit trail) and the sends the providers reported, per group, over
    /// the UTC days `from` to `to`.
    pub async fn report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        group_by: ReportGrouping,
    ) -> Result<Report, ServiceError> {
        let filter = AuditFilter {
            from: Some(day_start(from)),
            to: Some(day_start(to) + Duration::days(1)),
            ..AuditFilter::default()
        };
        let mut rows: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut after: Option<AuditCursor> = None;
        loop {
            let page = self
                .audit(filter.clone(), REPORT_PAGE, after.as_ref())
                .await?;
            for entry in &page.entries {
                let group = match group_by {
                    ReportGrouping::Day => entry.at.date_naive().to_string(),
                    ReportGrouping::Domain => entry.address.domain().to_string(),
                    ReportGrouping::Provider => entry.provider.as_str().to_string(),
                    ReportGrouping::Owner => entry.owner.to_string(),
                };
                let row = rows.entry(group).or_default();
                match entry.action {
                    AuditAction::Created => row.creates += 1,
                    AuditAction::CreateFailed => row.failed_creates += 1,
                    AuditAction::Deleted => row.deletes += 1,
                    AuditAction::CredentialsRotated => row.rotations += 1,
                    AuditAction::Transferred => row.transfers += 1,
                    AuditAction::Suspended(_) => row.suspensions += 1,
                    AuditAction::TransferredAndRotated => {
                        row.transfers += 1;
                        row.rotations += 1;
                    }
                    AuditAction::CreateStarted
                    | AuditAction::CreateRejected
                    | AuditAction::DeleteFailed
                    | AuditAction::RotateFailed
                    | AuditAction::Disabled
                    | AuditAction::DisableFailed
                    | AuditAction::Enabled
                    | AuditAction::EnableFailed
                    | AuditAction::TransferFailed
                    | AuditAction::SuspendFailed
                    | AuditAction::Resumed
                    | AuditAction::ResumeFailed => {}
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        for sent in self.store.oversight.daily_sends(from, to).await? {
            let group = match group_by {
                ReportGrouping::Day => sent.day.to_string(),
                ReportGrouping::Domain => sent.address.domain().to_string(),
                ReportGrouping::Provider => sent.provider.as_str().to_string(),
                ReportGrouping::Owner => sent.owner.to_string(),
            };
            let row = rows.entry(group).or_default();
            row.sends += u64::from(sent.counts.sends);
            row.deliveries += u64::from(sent.counts.deliveries);
            row.bounces += u64::from(sent.counts.bounces);
            row.complaints += u64::from(sent.counts.complaints);
        }
        Ok(Report {
            from,
            to,
            group_by,
            rows: rows
                .into_iter()
                .map(|(group, row)| ReportRow { group, ..row })
                .collect(),
        })
    }

    /// `filter` bounded by what the audit trail keeps: from no earlier than
    /// the retention, to no later than now (a day's margin for the clocks
    /// of other function instances).
    fn within_retention(&self, mut filter: AuditFilter) -> AuditFilter {
        let now = self.clock.now();
        let kept_since = now - self.policy.audit_retention;
        filter.from = Some(filter.from.map_or(kept_since, |from| from.max(kept_since)));
        filter.to = Some(filter.to.unwrap_or(now + Duration::days(1)));
        filter
    }
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc())
        .unwrap_or_default()
}
