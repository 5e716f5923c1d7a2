//! Guard rails per address: each counted send, bounce or complaint is
//! judged against the address's day and rolling week; crossing a rail
//! suspends the address (sending stopped at the provider, status
//! `suspended`, announced as `AccountSuspended`). A send-limit suspension
//! lifts itself at the next UTC midnight (`lift_due_suspensions`, run by
//! the reconciler); the others by an administrator's enable, or the
//! owner's after a rotation where `ADDRESS_SELF_RESUME` allows.

use chrono::Duration;

use crate::domain::{
    AccountStatus, EmailAddress, GuardRails, SendEventKind, Suspension, SuspensionReason, UserId,
};
use crate::events::ProviderReport;
use crate::store::{AccountChange, AccountHold, Operation, OwnedAccount, SendEventOutcome};

use super::changes::AccountCommand;
use super::provisioning::new_token;
use super::{Provisioning, ServiceError};

/// Who the audit trail names for what the guard rails do.
pub const GUARD_RAILS_ACTOR: &str = "email-provisioning:guard-rails";

/// What a provider report came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guarded {
    pub outcome: SendEventOutcome,
    /// The rail this report's address crossed, if it was suspended for it now.
    pub suspended: Option<SuspensionReason>,
}

impl Provisioning {
    /// Counts `report` once, then judges its address. A report seen before
    /// is judged again (a retry after a failed suspension must suspend);
    /// a delivery changes no rail and is not judged.
    pub async fn count_and_guard(&self, report: &ProviderReport) -> Result<Guarded, ServiceError> {
        let (outcome, address) = self.directory.count_report(report).await?;
        let suspended = match address {
            Some(address) if report.kind != SendEventKind::Delivery => self.guard(&address).await?,
            _ => None,
        };
        Ok(Guarded { outcome, suspended })
    }

    /// Suspends `address` if its counted days cross a rail and it is
    /// active at a provider that reports per address. The suspension is
    /// one transition under the account's hold: of reports judged at once,
    /// one suspends and the others find it suspended (or busy: their
    /// retry does).
    async fn guard(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<SuspensionReason>, ServiceError> {
        let Some(owner) = self.owner_of(address).await? else {
            return Ok(None);
        };
        let store = &self.directory.store;
        let Some(owned) = store.accounts.owned_account(&owner, address).await? else {
            return Ok(None);
        };
        if !self.may_be_suspended(&owned) {
            return Ok(None);
        }
        let rails = &self.directory.policy.guard_rails;
        let today = self.directory.clock.now().date_naive();
        let from = GuardRails::window_start(today, owned.rails_counted_from);
        let days = store
            .send_counters
            .daily_counts(address, from, today)
            .await?;
        let Some(reason) = rails.crossed(&days, today) else {
            return Ok(None);
        };
        Ok(self.suspend(address, reason).await?.then_some(reason))
    }

    fn may_be_suspended(&self, owned: &OwnedAccount) -> bool {
        owned.account.status == AccountStatus::Active
            && GuardRails::enforced_for(owned.account.provider).is_ok()
    }

    /// Stops the address sending and marks it suspended for `reason`;
    /// `false` if it was no longer active once held.
    async fn suspend(
        &self,
        address: &EmailAddress,
        reason: SuspensionReason,
    ) -> Result<bool, ServiceError> {
        let (owned, hold) = self
            .hold(&system_command(address), Operation::Suspend(reason))
            .await?;
        if !self.may_be_suspended(&owned) {
            self.directory
                .store
                .changes
                .release_hold(&hold, None)
                .await?;
            return Ok(false);
        }
        let suspension = Suspension {
            reason,
            since: hold.request.started_at,
            credentials_version: owned.credentials_version,
        };
        self.change_sending(&owned, &hold, false, &AccountChange::Suspended(suspension))
            .await?;
        tracing::warn!(%address, reason = reason.as_str(), "an address crossed a guard rail: suspended");
        Ok(true)
    }

    /// Restarts the sending of a suspended account held (by `hold`) to be
    /// enabled; the rails count again from `counted_from`, or as before.
    pub(super) async fn resume(
        &self,
        owned: &OwnedAccount,
        hold: &AccountHold,
        lifted: Suspension,
        counted_from: Option<chrono::NaiveDate>,
    ) -> Result<(), ServiceError> {
        let mut hold = hold.clone();
        hold.request.operation = Operation::Resume;
        let change = AccountChange::Resumed {
            lifted,
            counted_from,
        };
        self.change_sending(owned, &hold, true, &change).await
    }

    /// What a scheduled run does: every send-limit suspension whose UTC day
    /// is over is lifted. Returns how many.
    pub async fn lift_due_suspensions(&self) -> Result<usize, ServiceError> {
        let now = self.directory.clock.now();
        let mut lifted = 0;
        for due in self.directory.store.changes.due_lifts(now).await? {
            let held = self
                .hold(&system_command(&due.address), Operation::Resume)
                .await;
            let (owned, hold) = match held {
                Ok(held) => held,
                Err(ServiceError::AccountNotFound(_)) => {
                    self.directory.store.changes.forget_lift(&due).await?;
                    continue;
                }
                Err(error) => {
                    tracing::error!(address = %due.address, %error, "could not hold a suspended address to lift it; the next run tries again");
                    continue;
                }
            };
            match owned.account.suspension {
                Some(suspension)
                    if owned.account.status == AccountStatus::Suspended
                        && suspension.reason == SuspensionReason::SendLimit =>
                {
                    self.resume(&owned, &hold, suspension, None).await?;
                    lifted += 1;
                }
                _ => {
                    self.directory
                        .store
                        .changes
                        .release_hold(&hold, None)
                        .await?;
                    self.directory.store.changes.forget_lift(&due).await?;
                }
            }
        }
        Ok(lifted)
    }
}

/// A change the guard rails make on their own.
fn system_command(address: &EmailAddress) -> AccountCommand {
    AccountCommand {
        caller: UserId::parse(GUARD_RAILS_ACTOR).expect("a valid user id"),
        as_admin: true,
        address: address.to_string(),
        request_id: format!("guard-rails-{}", new_token()),
    }
}

/// The first day an administrator's or owner's resume lets the rails count
/// again: the rest of the day of the resume is not held against it.
pub(super) fn counted_again_from(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    (now + Duration::days(1)).date_naive()
}
