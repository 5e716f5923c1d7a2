//! The use cases — check, create, list — over the store and provider traits.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::domain::{
    suggestion_candidates, Account, AccountStatus, DisplayName, DomainError, DomainName,
    EmailAddress, ReservedNames, SmtpSettings, UserId, Username, MAX_SUGGESTIONS,
};
use crate::providers::{MailProvider, ProviderError, Providers, SmtpPassword};
use crate::secrets::{SecretVault, SecretsError};
use crate::store::{AccountStore, Activation, Page, Reservation, StoreError};

/// How long a create may hold an address before another create may take it
/// over: longer than any Lambda invocation of `create` can last.
pub const CREATE_LEASE: Duration = Duration::minutes(15);

/// The rules a deployment is configured with.
#[derive(Debug, Clone)]
pub struct Policy {
    pub domain: DomainName,
    pub reserved: ReservedNames,
    pub daily_create_limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailability {
    Taken,
    Reserved,
}

impl Unavailability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Taken => "taken",
            Self::Reserved => "reserved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub email: EmailAddress,
    pub unavailable: Option<Unavailability>,
    pub suggestions: Vec<EmailAddress>,
}

#[derive(Debug, Clone)]
pub struct CreateCommand {
    pub owner: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub provider: Option<String>,
    pub domain: Option<String>,
    pub request_id: String,
}

/// A created account with its SMTP credentials; the password exists only here.
#[derive(Debug, Clone)]
pub struct Created {
    pub account: Account,
    pub smtp: SmtpSettings,
    pub password: SmtpPassword,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("domain {0:?} is not offered by this service")]
    DomainNotAllowed(String),
    #[error("provider {requested:?} is not available here (available: {available})")]
    ProviderNotAvailable {
        requested: String,
        available: String,
    },
    #[error("{address} is already taken")]
    AddressTaken {
        address: EmailAddress,
        suggestions: Vec<EmailAddress>,
    },
    #[error("{address} is reserved and cannot be created")]
    AddressReserved {
        address: EmailAddress,
        suggestions: Vec<EmailAddress>,
    },
    #[error("the daily limit of {limit} new addresses is reached")]
    RateLimited {
        limit: u32,
        retry_after_seconds: i64,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// The parts the use cases work with, each behind its trait.
pub struct Provisioning {
    store: Arc<dyn AccountStore>,
    providers: Providers,
    vault: Arc<dyn SecretVault>,
    clock: Arc<dyn Clock>,
    policy: Policy,
}

impl Provisioning {
    pub fn new(
        store: Arc<dyn AccountStore>,
        providers: Providers,
        vault: Arc<dyn SecretVault>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Self {
        Self {
            store,
            providers,
            vault,
            clock,
            policy,
        }
    }

    fn domain_for(&self, requested: Option<&str>) -> Result<DomainName, ServiceError> {
        let Some(requested) = requested else {
            return Ok(self.policy.domain.clone());
        };
        match DomainName::parse(requested) {
            Ok(domain) if domain == self.policy.domain => Ok(domain),
            _ => Err(ServiceError::DomainNotAllowed(requested.to_string())),
        }
    }

    /// Whether `username` is free on the domain, with alternatives when it is
    /// not: the address and every candidate are read in one store round trip.
    pub async fn check(
        &self,
        username: Username,
        domain: Option<&str>,
    ) -> Result<Availability, ServiceError> {
        let email = EmailAddress::new(username, self.domain_for(domain)?);
        let candidates = self.candidates_for(&email);
        let mut wanted = Vec::with_capacity(candidates.len() + 1);
        wanted.push(email.clone());
        wanted.extend(candidates.iter().cloned());
        let held = self.held_among(&wanted).await?;

        let unavailable = if self.policy.reserved.contains(email.username()) {
            Some(Unavailability::Reserved)
        } else if held.contains(&email) {
            Some(Unavailability::Taken)
        } else {
            None
        };
        let suggestions = match unavailable {
            Some(_) => free_ones(candidates, &held),
            None => Vec::new(),
        };
        Ok(Availability {
            email,
            unavailable,
            suggestions,
        })
    }

    fn candidates_for(&self, email: &EmailAddress) -> Vec<EmailAddress> {
        suggestion_candidates(email.username(), email.domain(), &self.policy.reserved)
            .into_iter()
            .map(|username| EmailAddress::new(username, email.domain().clone()))
            .collect()
    }

    async fn held_among(
        &self,
        addresses: &[EmailAddress],
    ) -> Result<HashSet<EmailAddress>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claims(addresses)
            .await?
            .into_iter()
            .filter(|claim| claim.holds_address_at(now))
            .map(|claim| claim.address)
            .collect())
    }

    async fn suggestions_for(&self, email: &EmailAddress) -> Result<Vec<EmailAddress>, StoreError> {
        let candidates = self.candidates_for(email);
        let held = self.held_among(&candidates).await?;
        Ok(free_ones(candidates, &held))
    }

    /// The create flow: reserve (quota + claim + pending account, one
    /// transaction), provision, activate; any failure after the reservation
    /// undoes what was done, in reverse order.
    pub async fn create(&self, command: CreateCommand) -> Result<Created, ServiceError> {
        let email = EmailAddress::new(
            command.username,
            self.domain_for(command.domain.as_deref())?,
        );
        let provider = self
            .providers
            .choose(command.provider.as_deref())
            .ok_or_else(|| ServiceError::ProviderNotAvailable {
                requested: command.provider.clone().unwrap_or_default(),
                available: self.providers.names(),
            })?;
        if self.policy.reserved.contains(email.username()) {
            let suggestions = self.suggestions_for(&email).await?;
            return Err(ServiceError::AddressReserved {
                address: email,
                suggestions,
            });
        }

        let now = self.clock.now();
        let reservation = Reservation {
            owner: command.owner,
            address: email.clone(),
            display_name: command.display_name,
            provider: provider.name().to_string(),
            request_id: command.request_id,
            reserved_at: now,
            lease_expires_at: now + CREATE_LEASE,
            daily_limit: self.policy.daily_create_limit,
        };
        match self.store.reserve(&reservation).await {
            Ok(()) => {}
            Err(StoreError::AddressTaken) => {
                let suggestions = self.suggestions_for(&email).await?;
                return Err(ServiceError::AddressTaken {
                    address: email,
                    suggestions,
                });
            }
            Err(StoreError::QuotaExceeded) => {
                return Err(ServiceError::RateLimited {
                    limit: self.policy.daily_create_limit,
                    retry_after_seconds: seconds_until_next_utc_day(now),
                })
            }
            Err(other) => return Err(other.into()),
        }

        let provisioned = match provider.provision(&email, &reservation.display_name).await {
            Ok(provisioned) => provisioned,
            Err(error) => {
                self.release(&reservation, &error.to_string()).await;
                return Err(error.into());
            }
        };

        let secret_ref = match self.vault.store(&email, &provisioned.password).await {
            Ok(secret_ref) => secret_ref,
            Err(error) => {
                self.deprovision(provider, &provisioned.provider_ref).await;
                self.release(&reservation, &error.to_string()).await;
                return Err(error.into());
            }
        };

        let activation = Activation {
            smtp: provisioned.smtp,
            webmail: provisioned.webmail,
            provider_ref: provisioned.provider_ref,
            secret_ref,
            activated_at: self.clock.now(),
        };
        if let Err(error) = self.store.activate(&reservation, &activation).await {
            self.remove_secret(&activation.secret_ref).await;
            self.deprovision(provider, &activation.provider_ref).await;
            self.release(&reservation, &error.to_string()).await;
            return Err(error.into());
        }

        Ok(Created {
            account: Account {
                owner: reservation.owner,
                address: email,
                display_name: reservation.display_name,
                provider: reservation.provider,
                status: AccountStatus::Active,
                smtp: Some(activation.smtp.clone()),
                webmail: activation.webmail,
                created_at: reservation.reserved_at,
                emails_sent_today: 0,
                emails_sent_month: 0,
            },
            smtp: activation.smtp,
            password: provisioned.password,
        })
    }

    /// Compensation must not hide the original error: its own failure is
    /// logged, and the lease lets a later create or the reconciler finish it.
    async fn release(&self, reservation: &Reservation, error: &str) {
        if let Err(release_error) = self
            .store
            .release(reservation, error, self.clock.now())
            .await
        {
            tracing::error!(address = %reservation.address, error = ?release_error, "could not release a failed reservation");
        }
    }

    async fn remove_secret(&self, secret_ref: &str) {
        if let Err(error) = self.vault.remove(secret_ref).await {
            tracing::error!(secret_ref, error = ?error, "could not remove a secret after a failed create");
        }
    }

    async fn deprovision(&self, provider: &Arc<dyn MailProvider>, provider_ref: &str) {
        if let Err(error) = provider.deprovision(provider_ref).await {
            tracing::error!(provider_ref, error = ?error, "could not remove a provider resource after a failed create");
        }
    }

    pub async fn list(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, ServiceError> {
        Ok(self.store.list_accounts(owner, limit, after).await?)
    }
}

fn free_ones(candidates: Vec<EmailAddress>, held: &HashSet<EmailAddress>) -> Vec<EmailAddress> {
    candidates
        .into_iter()
        .filter(|candidate| !held.contains(candidate))
        .take(MAX_SUGGESTIONS)
        .collect()
}

fn seconds_until_next_utc_day(now: DateTime<Utc>) -> i64 {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    let midnight = tomorrow
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    (midnight - now).num_seconds().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_points_at_the_next_utc_midnight() {
        let late = Utc.with_ymd_and_hms(2026, 11, 25, 23, 59, 30).unwrap();
        assert_eq!(seconds_until_next_utc_day(late), 30);
        let early = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        assert_eq!(seconds_until_next_utc_day(early), 86_400);
    }
}
