//! Reads of created accounts: one owner's, a page of them, how many in all.

use async_trait::async_trait;

use super::rows::{created_account, AccountRow, ACCOUNT_COLUMNS};
use super::select;
use super::SqliteStore;
use crate::domain::{EmailAddress, ProviderKind, UserId};
use crate::store::encoding::backend;
use crate::store::{Accounts, OwnedAccount, Page, StoreError};
use rusqlite::params;

#[async_trait]
impl Accounts for SqliteStore {
    async fn owned_account(
        &self,
        owner: &UserId,
        address: &EmailAddress,
    ) -> Result<Option<OwnedAccount>, StoreError> {
        let (owner, address) = (owner.clone(), address.clone());
        self.with_connection(move |connection| {
            Ok(created_account(connection, &owner, &address)?.map(|(owned, _)| owned))
        })
        .await
    }

    async fn list_accounts(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let owner = owner.as_str().to_string();
        let after = after.map(ToString::to_string).unwrap_or_default();
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM accounts
                         WHERE owner = ?1 AND status != 'failed' AND address > ?2
                         ORDER BY address LIMIT ?3"
                    ),
                    params![owner, after, i64::from(limit) + 1],
                    AccountRow::read,
                )
            })
            .await?;
        let accounts = rows
            .into_iter()
            .map(AccountRow::into_account)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::cut(accounts, limit))
    }

    async fn count_created_accounts(
        &self,
        provider: Option<ProviderKind>,
    ) -> Result<u64, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM accounts WHERE status IN ('active', 'disabled', 'suspended')
                       AND (?1 IS NULL OR provider = ?1)",
                    [provider.map(ProviderKind::as_str)],
                    |row| row.get::<_, i64>(0),
                )
                .map(|count| count.unsigned_abs())
                .map_err(backend)
        })
        .await
    }
}
