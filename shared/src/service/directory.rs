//! The read side: whether an address is free (with suggestions when not),
//! and a user's accounts. Store, clock and policy only: no provider, no vault.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::{
    suggestion_candidates, DomainName, EmailAddress, UserId, Username, MAX_SUGGESTIONS,
};
use crate::store::{AccountStore, ClaimState, Page, StoreError};

use super::{Availability, Policy, ServiceError, Unavailability};

#[derive(Clone)]
pub struct Directory {
    pub(super) store: Arc<dyn AccountStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) policy: Policy,
}

/// Which of an account's counters its provider can fill, and why not the
/// others: an unknown counter is shown as unknown, never as a made-up 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsCoverage {
    pub sent_today: bool,
    pub sent_month: bool,
    /// Bounces and complaints.
    pub feedback: bool,
    pub reason: Option<&'static str>,
}

pub fn stats_coverage(provider: &str) -> StatsCoverage {
    match provider {
        "sendgrid" => StatsCoverage {
            sent_today: false,
            sent_month: false,
            feedback: false,
            reason: Some(
                "SendGrid's events do not say which sender of the account sent a message, \
                 so they cannot be counted per address",
            ),
        },
        "microsoft365" | "google" => StatsCoverage {
            sent_today: false,
            sent_month: true,
            feedback: false,
            reason: Some(
                "this provider reports sends per mailbox in daily usage reports two to three \
                 days late, without bounces or complaints: today's count is not known yet, \
                 the month's counts the days reported so far",
            ),
        },
        _ => StatsCoverage {
            sent_today: true,
            sent_month: true,
            feedback: true,
            reason: None,
        },
    }
}

impl Directory {
    /// How many created accounts exist, all users'.
    pub async fn count_created_accounts(&self) -> Result<u64, ServiceError> {
        Ok(self.store.count_created_accounts().await?)
    }

    /// The time the read side answers as of (statistics roll over by it).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The rules this deployment creates by, for the policy route.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn new(store: Arc<dyn AccountStore>, clock: Arc<dyn Clock>, policy: Policy) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    pub(super) fn domain_for(&self, requested: Option<&str>) -> Result<DomainName, ServiceError> {
        let domains = &self.policy.domains;
        match requested {
            None => Ok(domains.default_domain().clone()),
            Some(requested) => domains
                .find(requested)
                .cloned()
                .ok_or_else(|| ServiceError::DomainNotAllowed(requested.to_string())),
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
        } else {
            match held.get(&email) {
                Some(ClaimState::Quarantined) => Some(Unavailability::Quarantined),
                Some(_) => Some(Unavailability::Taken),
                None => None,
            }
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

    /// The addresses among `addresses` someone holds now, and how.
    async fn held_among(
        &self,
        addresses: &[EmailAddress],
    ) -> Result<HashMap<EmailAddress, ClaimState>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claims(addresses)
            .await?
            .into_iter()
            .filter(|claim| claim.holds_address_at(now))
            .map(|claim| (claim.address, claim.state))
            .collect())
    }

    pub(super) async fn suggestions_for(
        &self,
        email: &EmailAddress,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        let candidates = self.candidates_for(email);
        let held = self.held_among(&candidates).await?;
        Ok(free_ones(candidates, &held))
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

fn free_ones(
    candidates: Vec<EmailAddress>,
    held: &HashMap<EmailAddress, ClaimState>,
) -> Vec<EmailAddress> {
    candidates
        .into_iter()
        .filter(|candidate| !held.contains_key(candidate))
        .take(MAX_SUGGESTIONS)
        .collect()
}
