use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::clock::Clock;
use provisioning::domain::{DisplayName, EmailAddress, ProviderKind};
use provisioning::providers::{
    CompanyDirectory, Credential, IssuedCredential, MailProvider, Mark, ProviderError,
    ProvisionedAccount, SandboxProvider,
};
use provisioning::secrets::{DataKey, DataKeys, SealContext, SecretsError};
use provisioning::store::{Activation, Reservation, Reservations, StoreError};
use tokio::sync::Notify;

/// A clock the test moves by hand.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Self {
        Self(Mutex::new(
            Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
                .unwrap(),
        ))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::at(2026, 11, 25, 9, 0)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A provider that refuses or is down, for the failure paths; `creating`
/// makes one that creates through the sandbox but refuses every change after.
pub struct BrokenProvider {
    pub error: ProviderError,
    creates_with: Option<Arc<SandboxProvider>>,
}

impl BrokenProvider {
    pub fn rejecting(message: &str) -> Self {
        Self {
            error: ProviderError::Rejected {
                provider: "sandbox",
                message: message.into(),
            },
            creates_with: None,
        }
    }

    pub fn unavailable(message: &str) -> Self {
        Self {
            error: ProviderError::Unavailable {
                provider: "sandbox",
                message: message.into(),
            },
            creates_with: None,
        }
    }

    /// Creates, then refuses to delete, rotate, stop or restart anything.
    pub fn creating(sandbox: Arc<SandboxProvider>) -> Self {
        Self {
            creates_with: Some(sandbox),
            ..Self::rejecting("injected refusal to change it")
        }
    }

    /// Removing what a refused create never made succeeds; removing what it made does not.
    fn removal(&self) -> Result<(), ProviderError> {
        match self.creates_with {
            Some(_) => Err(self.error.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl MailProvider for BrokenProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        match &self.creates_with {
            Some(sandbox) => sandbox.provision(address, display_name, mark).await,
            None => Err(self.error.clone()),
        }
    }

    async fn deprovision(
        &self,
        _address: &EmailAddress,
        _provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.removal()
    }

    async fn deprovision_marked(
        &self,
        _address: &EmailAddress,
        _mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.removal()
    }

    async fn issue_credential(
        &self,
        _address: &EmailAddress,
        _current: &Credential,
        _mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        Err(self.error.clone())
    }

    async fn revoke_credential(
        &self,
        _address: &EmailAddress,
        _replaced: &Credential,
    ) -> Result<(), ProviderError> {
        Err(self.error.clone())
    }

    async fn set_sending(
        &self,
        _address: &EmailAddress,
        _current: &Credential,
        _allowed: bool,
    ) -> Result<(), ProviderError> {
        Err(self.error.clone())
    }
}

/// Wraps a provider: counts what reaches it, can hold `provision` (or
/// `issue_credential`) until the test lets it go, and can fail a share of
/// provisions at random.
pub struct ObservedProvider {
    inner: Arc<SandboxProvider>,
    provisions: AtomicUsize,
    gate: Option<Arc<Gate>>,
    /// The gate holds rotations instead of provisions.
    gate_rotations: bool,
    /// Out of 100 provisions, how many the provider refuses.
    failure_percent: u8,
    /// An address whose new credentials the provider refuses to issue.
    refuses_rotating: Option<EmailAddress>,
}

/// A door a provisioning call waits at: `entered` tells the test it is
/// there, `open` lets it through.
#[derive(Default)]
pub struct Gate {
    pub entered: Notify,
    pub open: Notify,
}

impl ObservedProvider {
    pub fn new(inner: Arc<SandboxProvider>) -> Self {
        Self {
            inner,
            provisions: AtomicUsize::new(0),
            gate: None,
            gate_rotations: false,
            failure_percent: 0,
            refuses_rotating: None,
        }
    }

    /// Refuses to issue new credentials for `address`, and only for it.
    pub fn refusing_to_rotate(inner: Arc<SandboxProvider>, address: EmailAddress) -> Self {
        Self {
            refuses_rotating: Some(address),
            ..Self::new(inner)
        }
    }

    pub fn gated(inner: Arc<SandboxProvider>, gate: Arc<Gate>) -> Self {
        Self {
            gate: Some(gate),
            ..Self::new(inner)
        }
    }

    /// Holds `issue_credential` at the gate, and lets provisions through.
    pub fn gated_rotation(inner: Arc<SandboxProvider>, gate: Arc<Gate>) -> Self {
        Self {
            gate_rotations: true,
            ..Self::gated(inner, gate)
        }
    }

    async fn pass_gate(&self, rotation: bool) {
        if let Some(gate) = self
            .gate
            .as_ref()
            .filter(|_| rotation == self.gate_rotations)
        {
            gate.entered.notify_one();
            gate.open.notified().await;
        }
    }

    pub fn flaky(inner: Arc<SandboxProvider>, failure_percent: u8) -> Self {
        Self {
            failure_percent,
            ..Self::new(inner)
        }
    }

    pub fn provisions(&self) -> usize {
        self.provisions.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MailProvider for ObservedProvider {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        self.provisions.fetch_add(1, Ordering::SeqCst);
        self.pass_gate(false).await;
        let mut roll = [0u8; 1];
        getrandom::fill(&mut roll).expect("OS randomness");
        if u16::from(roll[0]) * 100 / 256 < u16::from(self.failure_percent) {
            return Err(ProviderError::Rejected {
                provider: "sandbox",
                message: "injected refusal".into(),
            });
        }
        self.inner.provision(address, display_name, mark).await
    }

    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.inner.deprovision(address, provider_ref).await
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.inner.deprovision_marked(address, mark).await
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        self.pass_gate(true).await;
        if self.refuses_rotating.as_ref() == Some(address) {
            return Err(ProviderError::Rejected {
                provider: "sandbox",
                message: "injected refusal to rotate".into(),
            });
        }
        self.inner.issue_credential(address, current, mark).await
    }

    async fn revoke_credential(
        &self,
        address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        self.inner.revoke_credential(address, replaced).await
    }

    async fn set_sending(
        &self,
        address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        self.inner.set_sending(address, current, allowed).await
    }
}

/// Which step of a create fails, for the fault-injection tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePoint {
    Provision,
    Seal,
    Activate,
}

/// A master key that makes no data keys: the key service is down.
pub struct FailingKeys(pub Arc<dyn DataKeys>);

#[async_trait]
impl DataKeys for FailingKeys {
    async fn generate(&self, _: &SealContext) -> Result<DataKey, SecretsError> {
        Err(SecretsError::Backend(
            "injected: the key service is down".into(),
        ))
    }

    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &SealContext,
    ) -> Result<[u8; 32], SecretsError> {
        self.0.unwrap(wrapped, context).await
    }
}

/// Reservations whose `activate` (the create's last transaction) fails.
pub struct FailingActivation(pub Arc<dyn Reservations>);

#[async_trait]
impl Reservations for FailingActivation {
    async fn reserve(&self, reservation: &Reservation) -> Result<Option<Reservation>, StoreError> {
        self.0.reserve(reservation).await
    }

    async fn seize(
        &self,
        abandoned: &Reservation,
        seizer: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.0.seize(abandoned, seizer, now).await
    }

    async fn abandoned_reservations(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        self.0.abandoned_reservations(now).await
    }

    async fn activate(&self, _: &Reservation, _: &Activation) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "injected: the final transaction failed".into(),
        ))
    }

    async fn release(
        &self,
        reservation: &Reservation,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.release(reservation, error, at).await
    }

    async fn audit_rejection(
        &self,
        reservation: &Reservation,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.0.audit_rejection(reservation, reason).await
    }
}

/// A provider whose create dies right after the provider made the resource:
/// `provision` does its work, says so, and never returns (the test drops it).
pub struct DiesAfterProvisioning {
    pub inner: Arc<SandboxProvider>,
    pub provisioned: Arc<Notify>,
}

#[async_trait]
impl MailProvider for DiesAfterProvisioning {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        self.inner.provision(address, display_name, mark).await?;
        self.provisioned.notify_one();
        std::future::pending().await
    }

    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.inner.deprovision(address, provider_ref).await
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.inner.deprovision_marked(address, mark).await
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        self.inner.issue_credential(address, current, mark).await
    }

    async fn revoke_credential(
        &self,
        address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        self.inner.revoke_credential(address, replaced).await
    }

    async fn set_sending(
        &self,
        address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        self.inner.set_sending(address, current, allowed).await
    }
}

/// A master key whose create dies right after its password was sealed.
pub struct DiesAfterSealing {
    pub inner: Arc<dyn DataKeys>,
    pub sealed: Arc<Notify>,
}

#[async_trait]
impl DataKeys for DiesAfterSealing {
    async fn generate(&self, context: &SealContext) -> Result<DataKey, SecretsError> {
        self.inner.generate(context).await?;
        self.sealed.notify_one();
        std::future::pending().await
    }

    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &SealContext,
    ) -> Result<[u8; 32], SecretsError> {
        self.inner.unwrap(wrapped, context).await
    }
}

/// The sandbox under another provider's name, for the rules that depend on
/// which provider an address goes to (SendGrid for administrators only).
pub struct NamedAs(pub ProviderKind, pub Arc<SandboxProvider>);

#[async_trait]
impl MailProvider for NamedAs {
    fn kind(&self) -> ProviderKind {
        self.0
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        self.1.provision(address, display_name, mark).await
    }

    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.1.deprovision(address, provider_ref).await
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.1.deprovision_marked(address, mark).await
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        self.1.issue_credential(address, current, mark).await
    }

    async fn set_sending(
        &self,
        address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        self.1.set_sending(address, current, allowed).await
    }
}

/// A company directory that never answers: a name server or tenant gone quiet.
pub struct SilentDirectory;

#[async_trait]
impl CompanyDirectory for SilentDirectory {
    async fn holds(&self, _address: &EmailAddress) -> Result<bool, ProviderError> {
        std::future::pending().await
    }
}
