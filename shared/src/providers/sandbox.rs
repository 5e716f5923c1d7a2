use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{
    new_password, Capacity, CompanyDirectory, Credential, IssuedCredential, MailProvider, Mark,
    ProviderError, ProvisionedAccount,
};
use crate::domain::{
    DisplayName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpPassword, SmtpSettings,
    Username,
};

/// The local provider: creates nothing anywhere, remembers what it
/// "provisioned" in this process, and hands out credentials marked as
/// sandbox ones on an `.invalid` host, which no mail client can reach.
/// Like a key-based provider, a rotation makes a new resource beside the
/// old one until the old one is revoked. Its directory holds the local
/// parts `SANDBOX_EXISTING` lists, on every domain, so the refusal of an
/// address an employee already has can be tried locally.
#[derive(Default)]
pub struct SandboxProvider {
    provisioned: Mutex<HashMap<String, SandboxLogin>>,
    /// Each resource gets its own ref, as a real provider's ids differ.
    made: AtomicU64,
    existing: HashSet<Username>,
    /// `SANDBOX_CAPACITY`: how many addresses it holds at most.
    capacity: Option<u64>,
}

struct SandboxLogin {
    address: EmailAddress,
    password: SmtpPassword,
    sending: bool,
    mark: Mark,
}

pub const SANDBOX_SMTP_SERVER: &str = "smtp.sandbox.invalid";
const NAME: &str = "sandbox";

impl SandboxProvider {
    /// A sandbox whose directory already has these local parts.
    pub fn with_existing(existing: impl IntoIterator<Item = Username>) -> Self {
        Self {
            existing: existing.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A sandbox that holds at most `limit` addresses, as a provider
    /// account holds so many keys, users or licences.
    pub fn with_capacity(self, limit: Option<u64>) -> Self {
        Self {
            capacity: limit,
            ..self
        }
    }

    /// The resources this process provisioned and has not removed.
    pub fn provisioned(&self) -> HashSet<String> {
        self.resources().keys().cloned().collect()
    }

    /// Whether the sandbox's SMTP server would take mail from `address`
    /// signed in with `password`: a live resource of it with that password,
    /// not stopped from sending.
    pub fn accepts(&self, address: &EmailAddress, password: &str) -> bool {
        self.resources().values().any(|login| {
            login.address == *address && login.password.expose() == password && login.sending
        })
    }

    fn resources(&self) -> MutexGuard<'_, HashMap<String, SandboxLogin>> {
        self.provisioned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn make(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(String, SmtpPassword), ProviderError> {
        let secret = new_password(NAME)?;
        let password = SmtpPassword::new(format!("sandbox-{}", secret.expose()));
        let provider_ref = format!(
            "sandbox:{address}#{}",
            self.made.fetch_add(1, Ordering::Relaxed)
        );
        self.resources().insert(
            provider_ref.clone(),
            SandboxLogin {
                address: address.clone(),
                password: password.clone(),
                sending: true,
                mark: mark.clone(),
            },
        );
        Ok((provider_ref, password))
    }
}

#[async_trait]
impl MailProvider for SandboxProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    /// Its state lives in one process, and `cargo lambda watch` runs a
    /// process per function: the service counts the sandbox's addresses.
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        Ok(self.capacity.map(|limit| Capacity { used: None, limit }))
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        _display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let (provider_ref, password) = self.make(address, mark)?;
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: SANDBOX_SMTP_SERVER.into(),
                port: 587,
                username: address.to_string(),
                authentication: SmtpAuthentication::Password,
            },
            password,
            webmail: None,
            provider_ref,
        })
    }

    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.resources()
            .retain(|resource, login| resource != provider_ref && login.address != *address);
        Ok(())
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.resources()
            .retain(|_, login| login.address != *address || login.mark != *mark);
        Ok(())
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        self.resources().retain(|resource, login| {
            login.address != *address || *resource == current.provider_ref
        });
        let (provider_ref, password) = self.make(address, mark)?;
        Ok(IssuedCredential {
            credential: Credential {
                provider_ref,
                smtp_username: current.smtp_username.clone(),
            },
            password,
        })
    }

    async fn revoke_credential(
        &self,
        _address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        self.resources().remove(&replaced.provider_ref);
        Ok(())
    }

    async fn set_sending(
        &self,
        _address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        // Under `cargo lambda watch` each function is its own process: the
        // resource may have been "made" by another one, so an unknown one is fine.
        if let Some(login) = self.resources().get_mut(&current.provider_ref) {
            login.sending = allowed;
        }
        Ok(())
    }
}

#[async_trait]
impl CompanyDirectory for SandboxProvider {
    async fn holds(&self, address: &EmailAddress) -> Result<bool, ProviderError> {
        Ok(self.existing.contains(address.username()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn provisions_marked_credentials_and_forgets_them_on_removal() {
        let provider = SandboxProvider::default();
        let address = EmailAddress::parse("support@example.com").unwrap();
        let name = DisplayName::default_for(address.username());
        let mark = Mark::new("first");
        let account = provider.provision(&address, &name, &mark).await.unwrap();
        assert!(account.password.expose().starts_with("sandbox-"));
        assert_eq!(account.smtp.server, SANDBOX_SMTP_SERVER);
        assert_eq!(account.smtp.username, "support@example.com");
        assert!(provider.provisioned().contains(&account.provider_ref));
        provider
            .deprovision(&address, &account.provider_ref)
            .await
            .unwrap();
        provider
            .deprovision(&address, &account.provider_ref)
            .await
            .unwrap();
        assert!(provider.provisioned().is_empty());

        provider.provision(&address, &name, &mark).await.unwrap();
        let other = EmailAddress::parse("sales@example.com").unwrap();
        provider.provision(&other, &name, &mark).await.unwrap();
        provider
            .deprovision_marked(&address, &Mark::new("another"))
            .await
            .unwrap();
        assert_eq!(
            provider.provisioned().len(),
            2,
            "another mark's clean-up removes nothing"
        );
        provider.deprovision_marked(&address, &mark).await.unwrap();
        assert_eq!(
            provider.provisioned().len(),
            1,
            "only the other address's resource stays"
        );
    }

    #[tokio::test]
    async fn a_rotation_keeps_the_old_login_until_it_is_revoked_and_stopping_refuses_mail() {
        let provider = SandboxProvider::default();
        let address = EmailAddress::parse("support@example.com").unwrap();
        let name = DisplayName::default_for(address.username());
        let account = provider
            .provision(&address, &name, &Mark::new("create"))
            .await
            .unwrap();
        let current = Credential {
            provider_ref: account.provider_ref.clone(),
            smtp_username: account.smtp.username.clone(),
        };
        let old = account.password.expose();
        let issued = provider
            .issue_credential(&address, &current, &Mark::new("rotation"))
            .await
            .unwrap();
        let new = issued.password.expose();
        assert_ne!(new, old);
        assert!(provider.accepts(&address, old) && provider.accepts(&address, new));
        provider
            .revoke_credential(&address, &current)
            .await
            .unwrap();
        assert!(!provider.accepts(&address, old));
        assert!(provider.accepts(&address, new));

        let stopped = issued.credential;
        provider
            .set_sending(&address, &stopped, false)
            .await
            .unwrap();
        assert!(!provider.accepts(&address, new));
        provider
            .set_sending(&address, &stopped, true)
            .await
            .unwrap();
        assert!(provider.accepts(&address, new));
    }
}
