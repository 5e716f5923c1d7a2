//! Secrets: where each account's SMTP password is kept (its own secret, the
//! table holds only a reference), and the provider keys this service reads.

mod local;
mod provider_settings;
mod secrets_manager;

use async_trait::async_trait;

use crate::domain::EmailAddress;
use crate::domain::SmtpPassword;

pub use local::LocalVault;
pub use provider_settings::{ProviderSettings, PROVIDER_SETTINGS_TTL};
pub use secrets_manager::SecretsManagerVault;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the secret store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("provider secret {secret_id} is not a JSON object of strings")]
    MalformedProviderSecret { secret_id: String },
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> SecretsError {
    SecretsError::Backend(Box::new(error))
}

/// Keeps SMTP passwords, one secret per address.
#[async_trait]
pub trait SecretVault: Send + Sync {
    /// Stores the password of `address` under a name derived from it (so a
    /// crashed create's secret can be found), replacing what an earlier
    /// attempt left there. Returns the reference the table keeps.
    async fn store(
        &self,
        address: &EmailAddress,
        password: &SmtpPassword,
    ) -> Result<String, SecretsError>;

    /// The password a secret holds (to replay an idempotent create).
    async fn read(&self, secret_ref: &str) -> Result<SmtpPassword, SecretsError>;

    /// Deletes a secret at once, without a recovery window; one already gone is fine.
    async fn remove(&self, secret_ref: &str) -> Result<(), SecretsError>;

    /// Deletes the secret `store` would name for `address`: the clean-up of
    /// a create that died before it kept the reference.
    async fn remove_for(&self, address: &EmailAddress) -> Result<(), SecretsError>;
}
