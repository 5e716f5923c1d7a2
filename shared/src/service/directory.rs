//! The read side: whether an address is free (with suggestions when not),
//! and a user's accounts. Store, clock, policy and the company's directory
//! (asked, never changed): no mail provider, no vault.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::mail_dns::DomainReading;
use crate::domain::{
    suggestion_candidates, DomainName, EmailAddress, ProviderKind, RecordedUsage, UserId, Username,
    MAX_SUGGESTIONS,
};
use crate::store::{ClaimState, Page, Store, StoreError};

use super::{Availability, CompanyDirectories, Policy, ServiceError, Unavailability};

/// How many free candidates a check asks the company's directory about,
/// so that five remain when some turn out to exist there.
const CANDIDATES_ASKED: usize = MAX_SUGGESTIONS + 3;

#[derive(Clone)]
pub struct Directory {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) policy: Policy,
    pub(super) company: Arc<CompanyDirectories>,
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

pub fn stats_coverage(provider: ProviderKind) -> StatsCoverage {
    match provider {
        ProviderKind::Sendgrid => StatsCoverage {
            sent_today: false,
            sent_month: false,
            feedback: false,
            reason: Some(
                "SendGrid's events do not say which sender of the account sent a message, \
                 so they cannot be counted per address",
            ),
        },
        ProviderKind::Microsoft365 | ProviderKind::Google => StatsCoverage {
            sent_today: false,
            sent_month: true,
            feedback: false,
            reason: Some(
                "this provider reports sends per mailbox in daily usage reports two to three \
                 days late, without bounces or complaints: today's count is not known yet, \
                 the month's counts the days reported so far",
            ),
        },
        // SES publishes each message's events with its sender; the sandbox
        // counts the same events for its own addresses.
        ProviderKind::Ses | ProviderKind::Sandbox => StatsCoverage {
            sent_today: true,
            sent_month: true,
            feedback: true,
            reason: None,
        },
    }
}

impl Directory {
    /// How many created accounts exist, all users'.
    /// Each provider's slots as last read, for the policy route.
    pub async fn recorded_usage(&self) -> Result<Vec<RecordedUsage>, ServiceError> {
        Ok(self.store.usage.recorded_usage().await?)
    }

    /// Each domain's readiness as last checked, for the policy route.
    pub async fn domain_readings(&self) -> Result<Vec<DomainReading>, ServiceError> {
        Ok(self.store.domains.domain_readings().await?)
    }

    pub async fn count_created_accounts(&self) -> Result<u64, ServiceError> {
        Ok(self.store.accounts.count_created_accounts(None).await?)
    }

    /// The time the read side answers as of (statistics roll over by it).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The rules this deployment creates by, for the policy route.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn new(store: Store, clock: Arc<dyn Clock>, policy: Policy) -> Self {
        Self {
            store,
            clock,
            policy,
            company: Arc::new(CompanyDirectories::none()),
        }
    }

    /// Asks `company` before offering or making an address.
    pub fn with_company_directories(mut self, company: CompanyDirectories) -> Self {
        self.company = Arc::new(company);
        self
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

    /// Whether `username` is free on the domain, with alternatives when it
    /// is not. The address, every candidate and the address's look-alikes
    /// are read in one store round trip each, side by side; then the
    /// company's directory is asked about the address and the first free
    /// candidates at once, within the check's budget.
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
        let (held, passes_for) =
            tokio::try_join!(self.held_among(&wanted), self.taken_lookalike_of(&email))?;
        let store_free: Vec<EmailAddress> = candidates
            .into_iter()
            .filter(|candidate| !held.contains_key(candidate))
            .collect();

        let provider = self.policy.providers.default_for(email.domain());
        let mut asked = vec![email.clone()];
        asked.extend(store_free.iter().take(CANDIDATES_ASKED).cloned());
        let answers = self.company.answers_within_budget(provider, &asked).await;
        let exists = answers[0] == Some(true);

        let unavailable = if self.policy.reserved.contains(email.username()) {
            Some(Unavailability::Reserved)
        } else {
            match held.get(&email) {
                Some(ClaimState::Quarantined) => Some(Unavailability::Quarantined),
                Some(_) => Some(Unavailability::Taken),
                None if exists => Some(Unavailability::Exists),
                None if self.policy.reserved.is_lookalike(email.username())
                    || passes_for.is_some() =>
                {
                    Some(Unavailability::Lookalike)
                }
                None => None,
            }
        };
        let suggestions = match unavailable {
            // Only what the directory said it does not have is offered.
            Some(_) => asked[1..]
                .iter()
                .zip(&answers[1..])
                .filter(|(_, answer)| **answer == Some(false))
                .map(|(candidate, _)| candidate.clone())
                .take(MAX_SUGGESTIONS)
                .collect(),
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
            .claims
            .claims(addresses)
            .await?
            .into_iter()
            .filter(|claim| claim.holds_address_at(now))
            .map(|claim| (claim.address, claim.state))
            .collect())
    }

    /// A held address that `email` passes for (same skeleton, another name), if any.
    pub(super) async fn taken_lookalike_of(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<EmailAddress>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claims
            .lookalikes_of(email)
            .await?
            .into_iter()
            .find(|claim| claim.holds_address_at(now))
            .map(|claim| claim.address))
    }

    /// Free alternatives to `email`, for a refused create: free here, and
    /// not in the directory of `provider` as far as it answers in time.
    pub(super) async fn suggestions_for(
        &self,
        email: &EmailAddress,
        provider: ProviderKind,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        let candidates = self.candidates_for(email);
        let held = self.held_among(&candidates).await?;
        let free: Vec<EmailAddress> = candidates
            .into_iter()
            .filter(|candidate| !held.contains_key(candidate))
            .take(CANDIDATES_ASKED)
            .collect();
        let answers = self.company.answers_within_budget(provider, &free).await;
        Ok(free
            .into_iter()
            .zip(answers)
            .filter(|(_, answer)| *answer == Some(false))
            .map(|(candidate, _)| candidate)
            .take(MAX_SUGGESTIONS)
            .collect())
    }

    pub async fn list(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, ServiceError> {
        Ok(self
            .store
            .accounts
            .list_accounts(owner, limit, after)
            .await?)
    }
}
