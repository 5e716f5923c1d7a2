//! A provider account's slots (API keys, IAM users, licences): read before
//! a create takes one, refused with a sentence when none is left, and kept
//! for the policy route and the hourly metric.

use super::{Provisioning, ServiceError};
use crate::domain::{RecordedUsage, Usage};
use crate::providers::MailProvider;

impl Provisioning {
    /// `provider`'s slots as it counts them, or, where it cannot (the
    /// sandbox), as this service's addresses there count; `None` where they
    /// are not bounded or not known. Each reading is kept for the policy.
    pub async fn usage_of(
        &self,
        provider: &dyn MailProvider,
    ) -> Result<Option<Usage>, ServiceError> {
        let Some(capacity) = provider.capacity().await? else {
            return Ok(None);
        };
        let kind = provider.kind();
        let used = match capacity.used {
            Some(used) => used,
            None => {
                self.directory
                    .store
                    .accounts
                    .count_created_accounts(Some(kind))
                    .await?
            }
        };
        let usage = Usage {
            used,
            limit: capacity.limit,
        };
        let reading = RecordedUsage {
            provider: kind,
            usage,
            at: self.directory.clock.now(),
        };
        if let Err(error) = self.directory.store.usage.record_usage(&reading).await {
            tracing::warn!(provider = %kind, %error, "could not keep a provider's usage for the policy");
        }
        Ok(Some(usage))
    }

    /// Refuses a create that would take the last slot (or one past it)
    /// before anything is reserved or made. A usage that cannot be read
    /// lets the create go on: the provider still enforces its own limit.
    pub(super) async fn refuse_at_capacity(
        &self,
        provider: &dyn MailProvider,
    ) -> Result<(), ServiceError> {
        match self.usage_of(provider).await {
            Ok(Some(usage)) if !usage.has_room_for_a_create() => {
                Err(ServiceError::ProviderCapacityReached {
                    provider: provider.kind(),
                    used: usage.used,
                    limit: usage.limit,
                })
            }
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(provider = %provider.kind(), %error, "could not read a provider's capacity; the create goes on");
                Ok(())
            }
        }
    }
}
