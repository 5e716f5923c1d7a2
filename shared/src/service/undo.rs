//! A create's undo steps: each step that succeeds registers how to take it
//! back, and a failure runs them in reverse. A failed undo at the provider
//! leaves the reservation pending rather than released: past its lease,
//! the reconciler removes what carries the create's mark, then frees the
//! address.

use std::sync::Arc;

use crate::domain::EmailAddress;
use crate::providers::{MailProvider, Mark};
use crate::store::Reservation;

use super::Provisioning;

enum Step {
    /// Released: claim freed, account failed, quota refunded, audited.
    Reserved(Reservation),
    /// Whatever the provider made carrying this mark (made, or perhaps
    /// made by a call whose answer was lost) is removed.
    ProviderCalled {
        provider: Arc<dyn MailProvider>,
        address: EmailAddress,
        mark: Mark,
    },
}

/// The steps a create has taken so far.
pub(super) struct Undo<'a> {
    service: &'a Provisioning,
    steps: Vec<Step>,
}

impl<'a> Undo<'a> {
    pub(super) fn new(service: &'a Provisioning) -> Self {
        Self {
            service,
            steps: Vec::new(),
        }
    }

    pub(super) fn reserved(&mut self, reservation: &Reservation) {
        self.steps.push(Step::Reserved(reservation.clone()));
    }

    /// Registered before the call: its answer may be lost after the
    /// provider made something.
    pub(super) fn calling_provider(
        &mut self,
        provider: &Arc<dyn MailProvider>,
        address: &EmailAddress,
        mark: &Mark,
    ) {
        self.steps.push(Step::ProviderCalled {
            provider: Arc::clone(provider),
            address: address.clone(),
            mark: mark.clone(),
        });
    }

    /// Takes every step back, the last first, because of `error`. Its own
    /// failures are logged, never the answer: the original error is.
    pub(super) async fn run(self, error: &str) {
        let mut all_undone = true;
        for step in self.steps.into_iter().rev() {
            match step {
                Step::ProviderCalled {
                    provider,
                    address,
                    mark,
                } => {
                    if let Err(failed) = provider.deprovision_marked(&address, &mark).await {
                        all_undone = false;
                        tracing::error!(%address, error = %failed, "could not remove what a failed create made at its provider");
                    }
                }
                Step::Reserved(reservation) if all_undone => {
                    self.service.release(&reservation, error).await;
                }
                Step::Reserved(reservation) => {
                    tracing::error!(address = %reservation.address, "a failed create is left pending: the reconciler finishes its undo after the lease");
                }
            }
        }
    }
}
