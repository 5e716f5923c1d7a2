//! Envelope encryption of one password: a fresh data key from `DataKeys`
//! encrypts it (AES-256-GCM), and only the wrapped data key is kept with
//! the ciphertext. Both are bound to the address and the issue of its
//! credentials, so a sealed password opens only for the record it was
//! made for.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::{DataKeys, SecretsError};
use crate::domain::{EmailAddress, SealedPassword, SmtpPassword};

/// What a sealed password is bound to (the KMS encryption context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext {
    pub address: EmailAddress,
    pub credentials_version: u32,
}

impl SealContext {
    /// What a key policy may require of every use of the key.
    pub const PURPOSE: &'static str = "smtp-password-replay";

    /// The pairs KMS binds the data key to.
    pub fn pairs(&self) -> [(&'static str, String); 3] {
        [
            ("purpose", Self::PURPOSE.to_string()),
            ("address", self.address.to_string()),
            ("credentials_version", self.credentials_version.to_string()),
        ]
    }

    /// The same pairs as additional authenticated data.
    pub fn aad(&self) -> Vec<u8> {
        serde_json::to_vec(&self.pairs()).expect("strings serialize")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    /// The data key, wrapped by the master key.
    key: String,
    nonce: String,
    /// The password encrypted under the data key, with its tag.
    sealed: String,
}

/// Seals and opens passwords under a master key.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<dyn DataKeys>,
}

impl Sealer {
    pub fn new(keys: Arc<dyn DataKeys>) -> Self {
        Self { keys }
    }

    pub async fn seal(
        &self,
        password: &SmtpPassword,
        context: &SealContext,
    ) -> Result<SealedPassword, SecretsError> {
        let data_key = self.keys.generate(context).await?;
        let (nonce, sealed) = seal_bytes(
            &data_key.plaintext,
            &context.aad(),
            password.expose().as_bytes(),
        )?;
        let envelope = Envelope {
            key: STANDARD.encode(&data_key.wrapped),
            nonce: STANDARD.encode(nonce),
            sealed: STANDARD.encode(sealed),
        };
        Ok(SealedPassword::new(
            serde_json::to_string(&envelope).expect("strings serialize"),
        ))
    }

    pub async fn open(
        &self,
        sealed: &SealedPassword,
        context: &SealContext,
    ) -> Result<SmtpPassword, SecretsError> {
        let malformed = || SecretsError::Unsealable("not an envelope");
        let envelope: Envelope = serde_json::from_str(sealed.as_str()).map_err(|_| malformed())?;
        let decode = |text: &str| STANDARD.decode(text).map_err(|_| malformed());
        let key = self.keys.unwrap(&decode(&envelope.key)?, context).await?;
        let nonce = decode(&envelope.nonce)?;
        let plaintext = open_bytes(&key, &nonce, &context.aad(), decode(&envelope.sealed)?)?;
        String::from_utf8(plaintext)
            .map(SmtpPassword::new)
            .map_err(|_| malformed())
    }
}

/// AES-256-GCM under `key` with a random nonce: `(nonce, ciphertext and tag)`.
pub(super) fn seal_bytes(
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>), SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| SecretsError::Unsealable("no randomness"))?;
    let mut data = plaintext.to_vec();
    aead_key(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut data,
        )
        .map_err(|_| SecretsError::Unsealable("encryption failed"))?;
    Ok((nonce, data))
}

/// Opens what `seal_bytes` sealed; any change to it, its nonce or `aad` fails.
pub(super) fn open_bytes(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    mut sealed: Vec<u8>,
) -> Result<Vec<u8>, SecretsError> {
    let refused = || SecretsError::Unsealable("it was not sealed for this record");
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
    let length = aead_key(key)
        .open_in_place(nonce, Aad::from(aad), &mut sealed)
        .map_err(|_| refused())?
        .len();
    sealed.truncate(length);
    Ok(sealed)
}

fn aead_key(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32 bytes is an AES-256 key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::LocalDataKeys;

    fn context(address: &str, credentials_version: u32) -> SealContext {
        SealContext {
            address: EmailAddress::parse(address).unwrap(),
            credentials_version,
        }
    }

    #[tokio::test]
    async fn opens_only_for_the_record_it_was_sealed_for() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::new(Arc::new(LocalDataKeys::new(dir.path().join("key"))));
        let password = SmtpPassword::new("sandbox-correct-horse".into());
        let support = context("support@example.com", 2);
        let sealed = sealer.seal(&password, &support).await.unwrap();
        assert!(!sealed.as_str().contains("correct-horse"));
        assert_eq!(sealer.open(&sealed, &support).await.unwrap(), password);

        for other in [
            context("sales@example.com", 2),
            context("support@example.com", 3),
        ] {
            assert!(matches!(
                sealer.open(&sealed, &other).await,
                Err(SecretsError::Unsealable(_))
            ));
        }
        let mut tampered: serde_json::Value = serde_json::from_str(sealed.as_str()).unwrap();
        tampered["sealed"] = STANDARD.encode(b"0123456789abcdef0123456789").into();
        let tampered = SealedPassword::new(tampered.to_string());
        assert!(sealer.open(&tampered, &support).await.is_err());
        assert!(sealer
            .open(&SealedPassword::new("{}".into()), &support)
            .await
            .is_err());
    }
}
