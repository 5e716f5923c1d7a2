//! Secrets: the SMTP passwords an idempotent replay may hand out again,
//! sealed under one key (envelope encryption, `envelope.rs`) for as long
//! as the replay window lasts and never past it; and the provider keys
//! this service reads. No password has a secret of its own.

mod envelope;
mod kms;
mod local;
mod provider_settings;

use async_trait::async_trait;

pub use envelope::{SealContext, Sealer};
pub use kms::KmsDataKeys;
pub use local::LocalDataKeys;
pub use provider_settings::{ProviderSettings, PROVIDER_SETTINGS_TTL};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the key service failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("provider secret {secret_id} is not a JSON object of strings")]
    MalformedProviderSecret { secret_id: String },
    #[error("a sealed password could not be opened: {0}")]
    Unsealable(&'static str),
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> SecretsError {
    SecretsError::Backend(Box::new(error))
}

/// A data key: its plaintext, used once and dropped, and the same key
/// wrapped by the master key (KMS, or the local key file), kept beside
/// what it encrypted.
pub struct DataKey {
    pub plaintext: [u8; 32],
    pub wrapped: Vec<u8>,
}

/// The master key of the envelope: makes data keys and unwraps them, bound
/// to the context they were made for.
#[async_trait]
pub trait DataKeys: Send + Sync {
    async fn generate(&self, context: &SealContext) -> Result<DataKey, SecretsError>;

    async fn unwrap(&self, wrapped: &[u8], context: &SealContext)
        -> Result<[u8; 32], SecretsError>;
}
