//! The company's directory, asked before an address is offered or made:
//! an address it already has (an employee's mailbox, an alias, a group)
//! would let a generic address pass for a person. `DIRECTORY_PROVIDER`
//! names one directory for every address; otherwise an address's own
//! provider is its directory when it hosts mailboxes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::deadline;
use crate::domain::{EmailAddress, ProviderKind};
use crate::providers::{CompanyDirectory, ProviderError};

/// How long an answer is kept in an execution environment: directories
/// change rarely, and a check asks about the same names again and again.
const ANSWER_TTL: Duration = Duration::from_secs(300);

/// What a directory (by name) said of an address, and when.
type Answers = HashMap<(ProviderKind, EmailAddress), (bool, Instant)>;

/// The directories a deployment asks, with the answers lately given.
pub struct CompanyDirectories {
    /// `DIRECTORY_PROVIDER`: the one directory, whatever provider an address goes to.
    fixed: Option<(ProviderKind, Arc<dyn CompanyDirectory>)>,
    /// Otherwise, each provider that hosts mailboxes, by name.
    own: Vec<(ProviderKind, Arc<dyn CompanyDirectory>)>,
    /// How long a check waits for the directory before answering without it.
    check_budget: Duration,
    answers: Mutex<Answers>,
}

impl CompanyDirectories {
    pub fn new(
        fixed: Option<(ProviderKind, Arc<dyn CompanyDirectory>)>,
        own: Vec<(ProviderKind, Arc<dyn CompanyDirectory>)>,
        check_budget: Duration,
    ) -> Self {
        Self {
            fixed,
            own,
            check_budget,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// No directory: nothing exists elsewhere.
    pub fn none() -> Self {
        Self::new(None, Vec::new(), Duration::ZERO)
    }

    /// The directory of addresses that go to `provider`, if there is one.
    fn for_provider(
        &self,
        provider: ProviderKind,
    ) -> Option<(ProviderKind, &Arc<dyn CompanyDirectory>)> {
        self.fixed
            .as_ref()
            .or_else(|| self.own.iter().find(|(name, _)| *name == provider))
            .map(|(name, directory)| (*name, directory))
    }

    /// For a create: whether the directory of `provider` has `address`.
    /// An error when it cannot say: an address is never made unchecked.
    pub async fn holds(
        &self,
        provider: ProviderKind,
        address: &EmailAddress,
    ) -> Result<bool, ProviderError> {
        let Some((name, directory)) = self.for_provider(provider) else {
            return Ok(false);
        };
        if let Some(known) = self.remembered(name, address) {
            return Ok(known);
        }
        let holds = deadline::bounded(directory.holds(address), || ProviderError::Unavailable {
            provider: name.as_str(),
            message: "its directory did not answer in the time this request has".into(),
        })
        .await?;
        self.remember(name, address, holds);
        Ok(holds)
    }

    /// For a check: what the directory of `provider` says of each address
    /// within the check's budget, asked all at once. `None` for an address
    /// it did not answer about in time (or failed to).
    pub async fn answers_within_budget(
        &self,
        provider: ProviderKind,
        addresses: &[EmailAddress],
    ) -> Vec<Option<bool>> {
        let Some((name, directory)) = self.for_provider(provider) else {
            return vec![Some(false); addresses.len()];
        };
        let asked = addresses.iter().map(|address| async move {
            if let Some(known) = self.remembered(name, address) {
                return Some(known);
            }
            match tokio::time::timeout(self.check_budget, directory.holds(address)).await {
                Ok(Ok(holds)) => {
                    self.remember(name, address, holds);
                    Some(holds)
                }
                Ok(Err(error)) => {
                    tracing::warn!(%address, %error, "the company directory did not answer a check");
                    None
                }
                Err(_) => {
                    tracing::warn!(%address, budget_ms = self.check_budget.as_millis() as u64, "the company directory took longer than a check waits");
                    None
                }
            }
        });
        join_all(asked).await
    }

    fn remembered(&self, directory: ProviderKind, address: &EmailAddress) -> Option<bool> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers
            .get(&(directory, address.clone()))
            .filter(|(_, at)| at.elapsed() < ANSWER_TTL)
            .map(|(holds, _)| *holds)
    }

    fn remember(&self, directory: ProviderKind, address: &EmailAddress, holds: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.insert((directory, address.clone()), (holds, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;

    /// A directory that holds `held` and counts the questions it is asked.
    struct Counting {
        held: &'static str,
        asked: AtomicUsize,
    }

    #[async_trait]
    impl CompanyDirectory for Counting {
        async fn holds(&self, address: &EmailAddress) -> Result<bool, ProviderError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(address.username().as_str() == self.held)
        }
    }

    fn counting(held: &'static str) -> Arc<Counting> {
        Arc::new(Counting {
            held,
            asked: AtomicUsize::new(0),
        })
    }

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap()
    }

    #[tokio::test]
    async fn a_fixed_directory_answers_for_every_provider_and_own_ones_for_theirs() {
        let google = counting("jane");
        let fixed = CompanyDirectories::new(
            Some((
                ProviderKind::Google,
                google.clone() as Arc<dyn CompanyDirectory>,
            )),
            Vec::new(),
            Duration::from_secs(1),
        );
        for provider in [
            ProviderKind::Sendgrid,
            ProviderKind::Ses,
            ProviderKind::Google,
        ] {
            assert!(fixed
                .holds(provider, &address("jane@example.com"))
                .await
                .unwrap());
        }
        let microsoft = counting("jane");
        let own = CompanyDirectories::new(
            None,
            vec![(
                ProviderKind::Microsoft365,
                microsoft.clone() as Arc<dyn CompanyDirectory>,
            )],
            Duration::from_secs(1),
        );
        assert!(own
            .holds(ProviderKind::Microsoft365, &address("jane@example.com"))
            .await
            .unwrap());
        assert!(!own
            .holds(ProviderKind::Sendgrid, &address("jane@example.com"))
            .await
            .unwrap());
        assert_eq!(
            microsoft.asked.load(Ordering::SeqCst),
            1,
            "sendgrid has no directory"
        );
    }

    #[tokio::test]
    async fn answers_are_kept_so_a_check_asks_once() {
        let directory = counting("jane");
        let company = CompanyDirectories::new(
            Some((
                ProviderKind::Google,
                directory.clone() as Arc<dyn CompanyDirectory>,
            )),
            Vec::new(),
            Duration::from_secs(1),
        );
        let asked = [address("jane@example.com"), address("sales@example.com")];
        for _ in 0..3 {
            assert_eq!(
                company
                    .answers_within_budget(ProviderKind::Google, &asked)
                    .await,
                [Some(true), Some(false)]
            );
        }
        assert!(company
            .holds(ProviderKind::Google, &address("jane@example.com"))
            .await
            .unwrap());
        assert_eq!(directory.asked.load(Ordering::SeqCst), 2);
    }
}
