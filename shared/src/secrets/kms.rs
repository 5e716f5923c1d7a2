use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;

use super::{backend, DataKey, DataKeys, SealContext, SecretsError};

/// Data keys from one AWS KMS key (`PASSWORD_KEY_ID`): made by
/// `GenerateDataKey`, unwrapped by `Decrypt`, both under the record's
/// encryption context, which the key policy can require.
pub struct KmsDataKeys {
    client: Client,
    key_id: String,
}

impl KmsDataKeys {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn encryption_context(context: &SealContext) -> HashMap<String, String> {
    context
        .pairs()
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

fn thirty_two_bytes(blob: Option<&Blob>) -> Result<[u8; 32], SecretsError> {
    blob.and_then(|blob| blob.as_ref().try_into().ok())
        .ok_or(SecretsError::Unsealable(
            "KMS answered without a 256-bit key",
        ))
}

#[async_trait]
impl DataKeys for KmsDataKeys {
    async fn generate(&self, context: &SealContext) -> Result<DataKey, SecretsError> {
        let generated = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(backend)?;
        Ok(DataKey {
            plaintext: thirty_two_bytes(generated.plaintext())?,
            wrapped: generated
                .ciphertext_blob()
                .map(|blob| blob.as_ref().to_vec())
                .ok_or(SecretsError::Unsealable(
                    "KMS answered without a wrapped key",
                ))?,
        })
    }

    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &SealContext,
    ) -> Result<[u8; 32], SecretsError> {
        let decrypted = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(|error| match error.into_service_error() {
                refused if refused.is_invalid_ciphertext_exception() => {
                    SecretsError::Unsealable("KMS refused it for this record")
                }
                other => backend(other),
            })?;
        thirty_two_bytes(decrypted.plaintext())
    }
}
