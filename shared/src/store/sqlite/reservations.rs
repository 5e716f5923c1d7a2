//! The create flow's writes: reserve, activate or release, and the clean-up of abandoned reservations.

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::rows::{
    audit, give_back_allowance, take_allowance, StoredClaim, CLAIM_COLUMNS, CREATE_QUOTA,
};
use super::select;
use super::SqliteStore;
use crate::store::encoding::{backend, timestamp};
use crate::store::{
    lookalike_key, Activation, AuditAction, ClaimState, Reservation, Reservations, StoreError,
};
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl Reservations for SqliteStore {
    async fn reserve(&self, reservation: &Reservation) -> Result<Option<Reservation>, StoreError> {
        let reservation = reservation.clone();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let owner = reservation.owner.as_str();
            let existing = tx
                .query_row(
                    &format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE address = ?1"),
                    [&address],
                    StoredClaim::read,
                )
                .optional()
                .map_err(backend)?;
            let mut abandoned = None;
            if let Some(existing) = existing {
                let (claim, stale) = existing.into_parts()?;
                if claim.holds_address_at(reservation.reserved_at) {
                    return Err(StoreError::AddressTaken);
                }
                // A quarantine that ran out leaves nothing to clean up.
                if claim.state == ClaimState::Pending {
                    abandoned = Some(stale);
                }
            }
            if let Some(stale) = &abandoned {
                // The previous create of this address died past its lease.
                tx.execute(
                    "UPDATE accounts SET status = 'failed', updated_at = ?2
                     WHERE address = ?1 AND token = ?3 AND status = 'pending'",
                    params![address, timestamp(reservation.reserved_at), stale.token],
                )
                .map_err(backend)?;
            }

            take_allowance(
                tx,
                owner,
                CREATE_QUOTA,
                &reservation.quota_day(),
                reservation.daily_limit,
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO claims (address, owner, state, lease_expires_ms, token,
                     provider, request_id, reserved_ms, lookalike_key)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    address,
                    owner,
                    reservation.lease_expires_at.timestamp_millis(),
                    reservation.token,
                    reservation.provider.as_str(),
                    reservation.request_id,
                    reservation.reserved_at.timestamp_millis(),
                    lookalike_key(&reservation.address)
                ],
            )
            .map_err(backend)?;
            let now = timestamp(reservation.reserved_at);
            tx.execute(
                "INSERT OR REPLACE INTO accounts (owner, address, display_name, provider,
                     token, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                params![
                    owner,
                    address,
                    reservation.display_name.as_str(),
                    reservation.provider.as_str(),
                    reservation.token,
                    now
                ],
            )
            .map_err(backend)?;
            audit(
                tx,
                &reservation,
                AuditAction::CreateStarted,
                reservation.reserved_at,
                None,
            )?;
            Ok(abandoned)
        })
        .await
    }

    async fn seize(
        &self,
        abandoned: &Reservation,
        seizer: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (abandoned, seizer) = (abandoned.clone(), seizer.clone());
        self.in_transaction(move |tx| {
            let address = abandoned.address.to_string();
            let seized = tx
                .execute(
                    "UPDATE claims SET token = ?3, lease_expires_ms = ?4
                     WHERE address = ?1 AND token = ?2 AND state = 'pending' AND lease_expires_ms <= ?5",
                    params![
                        address,
                        abandoned.token,
                        seizer.token,
                        seizer.lease_expires_at.timestamp_millis(),
                        now.timestamp_millis()
                    ],
                )
                .map_err(backend)?;
            if seized == 1 {
                tx.execute(
                    "UPDATE accounts SET status = 'failed', updated_at = ?4
                     WHERE owner = ?1 AND address = ?2 AND token = ?3 AND status = 'pending'",
                    params![abandoned.owner.as_str(), address, abandoned.token, timestamp(now)],
                )
                .map_err(backend)?;
            }
            Ok(seized == 1)
        })
        .await
    }

    async fn abandoned_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims
                         WHERE state = 'pending' AND lease_expires_ms <= ?1"
                    ),
                    [now.timestamp_millis()],
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(_, reservation)| reservation))
            .collect()
    }

    async fn activate(
        &self,
        reservation: &Reservation,
        activation: &Activation,
    ) -> Result<(), StoreError> {
        let reservation = reservation.clone();
        let activation = activation.clone();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let claimed = tx
                .execute(
                    "UPDATE claims SET state = 'active'
                     WHERE address = ?1 AND token = ?2 AND state = 'pending'",
                    params![address, reservation.token],
                )
                .map_err(backend)?;
            if claimed != 1 {
                return Err(StoreError::ReservationLost);
            }
            tx.execute(
                "UPDATE accounts SET status = 'active', provider_ref = ?4, smtp_server = ?5,
                     smtp_port = ?6, smtp_username = ?7, webmail = ?8, updated_at = ?9,
                     smtp_auth = ?10
                 WHERE owner = ?1 AND address = ?2 AND token = ?3",
                params![
                    reservation.owner.as_str(),
                    address,
                    reservation.token,
                    activation.provider_ref,
                    activation.smtp.server,
                    activation.smtp.port,
                    activation.smtp.username,
                    activation.webmail,
                    timestamp(activation.activated_at),
                    activation.smtp.authentication.as_str()
                ],
            )
            .map_err(backend)?;
            audit(
                tx,
                &reservation,
                AuditAction::Created,
                activation.activated_at,
                None,
            )
        })
        .await
    }

    async fn release(
        &self,
        reservation: &Reservation,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reservation = reservation.clone();
        let error = error.to_string();
        self.in_transaction(move |tx| {
            let address = reservation.address.to_string();
            let owner = reservation.owner.as_str();
            tx.execute(
                "DELETE FROM claims WHERE address = ?1 AND token = ?2",
                params![address, reservation.token],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE accounts SET status = 'failed', updated_at = ?3
                 WHERE owner = ?1 AND address = ?2 AND token = ?4 AND status = 'pending'",
                params![owner, address, timestamp(at), reservation.token],
            )
            .map_err(backend)?;
            give_back_allowance(tx, owner, CREATE_QUOTA, &reservation.quota_day())?;
            audit(
                tx,
                &reservation,
                AuditAction::CreateFailed,
                at,
                Some(&error),
            )
        })
        .await
    }

    async fn audit_rejection(
        &self,
        reservation: &Reservation,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (reservation, reason) = (reservation.clone(), reason.to_string());
        self.in_transaction(move |tx| {
            audit(
                tx,
                &reservation,
                AuditAction::CreateRejected,
                reservation.reserved_at,
                Some(&reason),
            )
        })
        .await
    }
}
