//! Reads of created accounts: one owner's, a page of them, how many in all.

use super::items::ItemExt;
use async_trait::async_trait;

use super::items::{account_from_item, account_key, owned_from_item, s};
use super::DynamoStore;
use crate::domain::{EmailAddress, ProviderKind, UserId};
use crate::store::encoding::{backend, corrupt};
use crate::store::{Accounts, OwnedAccount, Page, StoreError};
use aws_sdk_dynamodb::types::Select;

#[async_trait]
impl Accounts for DynamoStore {
    async fn owned_account(
        &self,
        owner: &UserId,
        address: &EmailAddress,
    ) -> Result<Option<OwnedAccount>, StoreError> {
        let Some(item) = self.consistent_get(account_key(owner, address)).await? else {
            return Ok(None);
        };
        let owned = owned_from_item(&item)?;
        Ok(owned.account.status.is_created().then_some(owned))
    }

    async fn list_accounts(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let limit_items = usize::try_from(limit).unwrap_or(usize::MAX);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :accounts)")
            .filter_expression("#status <> :failed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", s(format!("USER#{owner}")))
            .expression_attribute_values(":accounts", s("ACCOUNT#"))
            .expression_attribute_values(":failed", s("failed"))
            // One more than asked tells whether another page follows.
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1))
            .set_exclusive_start_key(after.map(|after| account_key(owner, after)))
            .send()
            .await
            .map_err(backend)?;
        let mut accounts = output
            .items()
            .iter()
            .map(account_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if accounts.len() > limit_items {
            accounts.truncate(limit_items);
            accounts.last().map(|account| account.address.clone())
        } else {
            // Filtered-out items may have cut the page short: go on from where DynamoDB stopped.
            output
                .last_evaluated_key()
                .map(|key| {
                    key.text("sk")
                        .map(|sk| sk.trim_start_matches("ACCOUNT#").to_string())
                })
                .transpose()?
                .map(|address| EmailAddress::parse(&address).map_err(corrupt))
                .transpose()?
        };
        Ok(Page {
            accounts,
            next_after,
        })
    }

    /// A counting scan (run by the hourly quotas job, not by a request).
    async fn count_created_accounts(
        &self,
        provider: Option<ProviderKind>,
    ) -> Result<u64, StoreError> {
        let accounts = "begins_with(sk, :account) AND #status IN (:active, :disabled, :suspended)";
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .select(Select::Count)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":account", s("ACCOUNT#"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":disabled", s("disabled"))
            .expression_attribute_values(":suspended", s("suspended"));
        let scan = match provider {
            None => scan.filter_expression(accounts),
            Some(kind) => scan
                .filter_expression(format!("{accounts} AND provider = :provider"))
                .expression_attribute_values(":provider", s(kind.as_str())),
        };
        let mut pages = scan.into_paginator().send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += u64::try_from(page.map_err(backend)?.count()).unwrap_or_default();
        }
        Ok(count)
    }
}
