//! The end of an address's life: gone at the provider, its secret deleted,
//! the address held in quarantine before anyone may create it again.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{EmailAddress, UserId};
use crate::store::{OwnedAccount, Removal, StoreError};

use super::provisioning::new_token;
use super::{Provisioning, ServiceError};

/// How long a delete holds its account: past it, a delete that died may be
/// retried (every step of it can run twice).
const REMOVAL_LEASE: Duration = Duration::minutes(5);

#[derive(Debug, Clone)]
pub struct DeleteCommand {
    pub owner: UserId,
    /// As the request gave it: an address that does not parse is nobody's.
    pub address: String,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub address: EmailAddress,
    pub available_again_at: DateTime<Utc>,
}

impl Provisioning {
    /// Deletes the owner's account: the provider resource first, then the
    /// secret, then the account (its claim kept as quarantined). A failure
    /// leaves the account in the table, as it was, never the other way round.
    pub async fn delete(&self, command: DeleteCommand) -> Result<Deleted, ServiceError> {
        let not_found = || ServiceError::AccountNotFound(command.address.clone());
        let address = EmailAddress::parse(&command.address).map_err(|_| not_found())?;
        let store = &self.directory.store;
        let Some(owned) = store.owned_account(&command.owner, &address).await? else {
            return Err(not_found());
        };
        let now = self.directory.clock.now();
        let removal = Removal {
            owner: command.owner.clone(),
            address: address.clone(),
            provider: owned.account.provider.clone(),
            request_id: command.request_id.clone(),
            token: new_token(),
            started_at: now,
            lease_expires_at: now + REMOVAL_LEASE,
        };
        match store.begin_removal(&removal).await {
            Err(StoreError::AccountNotFound) => return Err(not_found()),
            started => started?,
        }
        if let Err(error) = self.remove_resources(&owned).await {
            if let Err(abort) = store.abort_removal(&removal, &error.to_string()).await {
                tracing::error!(%address, error = %abort, "a failed delete could not let go of its account; its lease will");
            }
            return Err(error);
        }
        let available_again_at = now + self.directory.policy.quarantine;
        store.finish_removal(&removal, available_again_at).await?;
        Ok(Deleted {
            address,
            available_again_at,
        })
    }

    async fn remove_resources(&self, owned: &OwnedAccount) -> Result<(), ServiceError> {
        let account = &owned.account;
        let provider = self.provider_named(&account.provider, account.address.domain())?;
        match &owned.provider_ref {
            Some(provider_ref) => provider.deprovision(provider_ref).await?,
            None => provider.deprovision_address(&account.address).await?,
        }
        match &owned.secret_ref {
            Some(secret_ref) => self.vault.remove(secret_ref).await?,
            None => self.vault.remove_for(&account.address).await?,
        }
        Ok(())
    }
}
