//! An account's changes after its create: the hold that serialises them, their outcomes, the rotation allowance.

use async_trait::async_trait;

use super::rows::{audit, created_account, give_back_allowance, take_allowance, ROTATION_QUOTA};
use super::{select, SqliteStore};
use crate::domain::{next_utc_midnight, AccountStatus, EmailAddress, SuspensionReason, UserId};
use crate::store::encoding::{backend, corrupt, decode_suspension, encode_suspension, timestamp};
use crate::store::{
    AccountChange, AccountHold, AuditAction, AuditSubject, Changes, DueLift, HoldRequest,
    NewCredentials, OwnedAccount, StoreError,
};
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl Changes for SqliteStore {
    async fn hold_account(&self, hold: &HoldRequest) -> Result<OwnedAccount, StoreError> {
        let hold = hold.clone();
        self.in_transaction(move |tx| {
            let Some((owned, held_until)) = created_account(tx, &hold.owner, &hold.address)? else {
                return Err(StoreError::AccountNotFound);
            };
            if held_until.is_some_and(|lease| lease > hold.started_at.timestamp_millis()) {
                return Err(StoreError::AccountBusy);
            }
            tx.execute(
                "UPDATE accounts SET hold_token = ?3, hold_lease_ms = ?4
                 WHERE owner = ?1 AND address = ?2",
                params![
                    hold.owner.as_str(),
                    hold.address.to_string(),
                    hold.token,
                    hold.lease_expires_at.timestamp_millis()
                ],
            )
            .map_err(backend)?;
            Ok(owned)
        })
        .await
    }

    async fn finish_removal(
        &self,
        hold: &AccountHold,
        quarantine_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let hold = hold.clone();
        self.in_transaction(move |tx| {
            let address = hold.request.address.to_string();
            let removed = tx
                .execute(
                    "DELETE FROM accounts WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                    params![hold.request.owner.as_str(), address, hold.request.token],
                )
                .map_err(backend)?;
            if removed == 0 {
                return Err(StoreError::ReservationLost);
            }
            if quarantine_until > hold.request.started_at {
                tx.execute(
                    "UPDATE claims SET state = 'quarantined', lease_expires_ms = ?2, token = ?3,
                         request_id = ?4
                     WHERE address = ?1",
                    params![
                        address,
                        quarantine_until.timestamp_millis(),
                        hold.request.token,
                        hold.request.request_id
                    ],
                )
            } else {
                tx.execute("DELETE FROM claims WHERE address = ?1", [&address])
            }
            .map_err(backend)?;
            audit(
                tx,
                &hold,
                AuditAction::Deleted,
                hold.request.started_at,
                None,
            )
        })
        .await
    }

    async fn finish_change(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), StoreError> {
        let (hold, change) = (hold.clone(), change.clone());
        self.in_transaction(move |tx| {
            let (owner, address, token) = (
                hold.request.owner.as_str(),
                hold.request.address.to_string(),
                hold.request.token.as_str(),
            );
            let at = timestamp(hold.request.started_at);
            let held = "WHERE owner = ?1 AND address = ?2 AND hold_token = ?3";
            let let_go = "hold_token = NULL, hold_lease_ms = NULL";
            let rotate = |credentials: &NewCredentials| {
                tx.execute(
                    &format!(
                        "UPDATE accounts SET smtp_username = ?4, provider_ref = ?5,
                             credentials_version = credentials_version + 1
                         {held}"
                    ),
                    params![
                        owner,
                        address,
                        token,
                        credentials.smtp_username,
                        credentials.provider_ref
                    ],
                )
            };
            let changed = match &change {
                AccountChange::CredentialsRotated(credentials) => rotate(credentials),
                AccountChange::Suspended(suspension) => tx.execute(
                    &format!("UPDATE accounts SET status = 'suspended', suspension = ?4 {held}"),
                    params![owner, address, token, encode_suspension(suspension)],
                ),
                AccountChange::Resumed { counted_from, .. } => tx.execute(
                    &format!(
                        "UPDATE accounts SET status = 'active', suspension = NULL,
                             rails_counted_from = COALESCE(?4, rails_counted_from) {held}"
                    ),
                    params![
                        owner,
                        address,
                        token,
                        counted_from.map(|day| day.to_string())
                    ],
                ),
                AccountChange::Disabled | AccountChange::Enabled => tx.execute(
                    &format!("UPDATE accounts SET status = ?4 {held}"),
                    params![
                        owner,
                        address,
                        token,
                        if change == AccountChange::Disabled {
                            AccountStatus::Disabled.as_str()
                        } else {
                            AccountStatus::Active.as_str()
                        }
                    ],
                ),
                AccountChange::Transferred { to, credentials } => {
                    match credentials {
                        Some(credentials) => rotate(credentials),
                        None => Ok(1),
                    }
                    .and_then(|_| {
                        // A create of the address that once failed for `to` left its record.
                        tx.execute(
                            "DELETE FROM accounts WHERE owner = ?1 AND address = ?2
                                 AND status = 'failed'",
                            params![to.as_str(), address],
                        )?;
                        tx.execute(
                            "UPDATE claims SET owner = ?2 WHERE address = ?1 AND state = 'active'",
                            params![address, to.as_str()],
                        )?;
                        tx.execute(
                            &format!("UPDATE accounts SET owner = ?4 {held}"),
                            params![owner, address, token, to.as_str()],
                        )
                    })
                }
            }
            .map_err(backend)?;
            let now_owner = match &change {
                AccountChange::Transferred { to, .. } => to.as_str(),
                _ => owner,
            };
            let finished = tx
                .execute(
                    &format!(
                        "UPDATE accounts SET updated_at = ?4, {let_go}
                         WHERE owner = ?1 AND address = ?2 AND hold_token = ?3"
                    ),
                    params![now_owner, address, token, at],
                )
                .map_err(backend)?;
            if changed == 0 || finished == 0 {
                return Err(StoreError::ReservationLost);
            }
            let mut subject = AuditSubject::from(&hold);
            if let AccountChange::Transferred { to, .. } = &change {
                subject.new_owner = Some(to);
            }
            audit(
                tx,
                subject,
                hold.request.operation.done(),
                hold.request.started_at,
                None,
            )
        })
        .await
    }

    async fn release_hold(
        &self,
        hold: &AccountHold,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (hold, error) = (hold.clone(), error.map(str::to_string));
        self.in_transaction(move |tx| {
            tx.execute(
                "UPDATE accounts SET hold_token = NULL, hold_lease_ms = NULL
                 WHERE owner = ?1 AND address = ?2 AND hold_token = ?3",
                params![
                    hold.request.owner.as_str(),
                    hold.request.address.to_string(),
                    hold.request.token
                ],
            )
            .map_err(backend)?;
            match &error {
                Some(error) => audit(
                    tx,
                    &hold,
                    hold.request.operation.failed(),
                    hold.request.started_at,
                    Some(error),
                ),
                None => Ok(()),
            }
        })
        .await
    }

    async fn count_rotation(
        &self,
        owner: &UserId,
        day: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        let (owner, day) = (owner.to_string(), day.to_string());
        self.in_transaction(move |tx| take_allowance(tx, &owner, ROTATION_QUOTA, &day, limit))
            .await
    }

    async fn refund_rotation(&self, owner: &UserId, day: &str) -> Result<(), StoreError> {
        let (owner, day) = (owner.to_string(), day.to_string());
        self.in_transaction(move |tx| give_back_allowance(tx, &owner, ROTATION_QUOTA, &day))
            .await
    }

    /// Locally the suspended accounts are few: each is read and judged here.
    async fn due_lifts(&self, now: DateTime<Utc>) -> Result<Vec<DueLift>, StoreError> {
        self.with_connection(move |connection| {
            let suspended = select(
                connection,
                "SELECT owner, address, suspension FROM accounts WHERE status = 'suspended'",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )?;
            let mut due = Vec::new();
            for (owner, address, suspension) in suspended {
                let suspension = decode_suspension(&suspension)?;
                if suspension.reason != SuspensionReason::SendLimit {
                    continue;
                }
                let lifts_at = next_utc_midnight(suspension.since);
                if lifts_at <= now {
                    due.push(DueLift {
                        owner: UserId::parse(&owner).map_err(corrupt)?,
                        address: EmailAddress::parse(&address).map_err(corrupt)?,
                        lifts_at,
                    });
                }
            }
            Ok(due)
        })
        .await
    }

    /// Nothing to forget: a lift is read from the account itself.
    async fn forget_lift(&self, _lift: &DueLift) -> Result<(), StoreError> {
        Ok(())
    }
}
