use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{new_password, MailProvider, ProviderError, ProvisionedAccount, SmtpPassword};
use crate::domain::{DisplayName, EmailAddress, SmtpAuthentication, SmtpSettings};

/// The local provider: creates nothing anywhere, remembers what it
/// "provisioned" in this process, and hands out credentials marked as
/// sandbox ones on an `.invalid` host, which no mail client can reach.
#[derive(Default)]
pub struct SandboxProvider {
    provisioned: Mutex<HashSet<String>>,
    /// Each resource gets its own ref, as a real provider's ids differ.
    made: AtomicU64,
}

pub const SANDBOX_SMTP_SERVER: &str = "smtp.sandbox.invalid";

impl SandboxProvider {
    /// The resources this process provisioned and has not removed.
    pub fn provisioned(&self) -> HashSet<String> {
        self.resources().clone()
    }

    fn resources(&self) -> MutexGuard<'_, HashSet<String>> {
        self.provisioned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl MailProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        _display_name: &DisplayName,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let secret = new_password("sandbox")?;
        let provider_ref = format!(
            "sandbox:{address}#{}",
            self.made.fetch_add(1, Ordering::Relaxed)
        );
        self.resources().insert(provider_ref.clone());
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: SANDBOX_SMTP_SERVER.into(),
                port: 587,
                username: address.to_string(),
                authentication: SmtpAuthentication::Password,
            },
            password: SmtpPassword::new(format!("sandbox-{}", secret.expose())),
            webmail: None,
            provider_ref,
        })
    }

    async fn deprovision(&self, provider_ref: &str) -> Result<(), ProviderError> {
        self.resources().remove(provider_ref);
        Ok(())
    }

    async fn deprovision_address(&self, address: &EmailAddress) -> Result<(), ProviderError> {
        let named = format!("sandbox:{address}#");
        self.resources()
            .retain(|resource| !resource.starts_with(&named));
        Ok(())
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
        let account = provider.provision(&address, &name).await.unwrap();
        assert!(account.password.expose().starts_with("sandbox-"));
        assert_eq!(account.smtp.server, SANDBOX_SMTP_SERVER);
        assert_eq!(account.smtp.username, "support@example.com");
        assert!(provider.provisioned().contains(&account.provider_ref));
        provider.deprovision(&account.provider_ref).await.unwrap();
        provider.deprovision(&account.provider_ref).await.unwrap();
        assert!(provider.provisioned().is_empty());

        provider.provision(&address, &name).await.unwrap();
        let other = EmailAddress::parse("sales@example.com").unwrap();
        provider.provision(&other, &name).await.unwrap();
        provider.deprovision_address(&address).await.unwrap();
        assert_eq!(
            provider.provisioned().len(),
            1,
            "only the other address's resource stays"
        );
    }
}
