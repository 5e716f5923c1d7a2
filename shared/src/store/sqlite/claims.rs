//! Who holds which address: the claims and their look-alikes.

use async_trait::async_trait;

use super::rows::{StoredClaim, CLAIM_COLUMNS};
use super::select;
use super::SqliteStore;
use crate::domain::EmailAddress;
use crate::store::{lookalike_key, Claim, Claims, StoreError};
use rusqlite::params;

#[async_trait]
impl Claims for SqliteStore {
    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError> {
        let keys: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        let rows = self
            .with_connection(move |connection| {
                let placeholders = vec!["?"; keys.len()].join(",");
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE address IN ({placeholders})"
                    ),
                    rusqlite::params_from_iter(keys.iter()),
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(claim, _)| claim))
            .collect()
    }

    async fn lookalikes_of(&self, address: &EmailAddress) -> Result<Vec<Claim>, StoreError> {
        let (key, address) = (lookalike_key(address), address.to_string());
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE lookalike_key = ?1 AND address != ?2"
                    ),
                    params![key, address],
                    StoredClaim::read,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_parts().map(|(claim, _)| claim))
            .collect()
    }
}
