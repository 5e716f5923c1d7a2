use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use ring::aead::NONCE_LEN;
use tokio::sync::OnceCell;

use super::envelope::{open_bytes, seal_bytes};
use super::{backend, DataKey, DataKeys, SealContext, SecretsError};

/// The local stand-in for KMS: a 256-bit master key in a file beside the
/// SQLite database (never in it), readable by its owner only, made at its
/// first use. Data keys are random and wrapped under it with AES-256-GCM.
pub struct LocalDataKeys {
    path: PathBuf,
    master: OnceCell<[u8; 32]>,
}

impl LocalDataKeys {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            master: OnceCell::new(),
        }
    }

    async fn master(&self) -> Result<&[u8; 32], SecretsError> {
        self.master
            .get_or_try_init(|| async { read_or_make_key(&self.path) })
            .await
    }
}

fn read_or_make_key(path: &Path) -> Result<[u8; 32], SecretsError> {
    if !path.exists() {
        make_key(path)?;
    }
    std::fs::read(path)
        .map_err(backend)?
        .try_into()
        .map_err(|_| SecretsError::Unsealable("the local key file is not 32 bytes"))
}

/// Writes a new key beside `path`, then links it there: the name appears
/// whole or not at all, and of two processes making it at once the first
/// link wins and both read that key.
fn make_key(path: &Path) -> Result<(), SecretsError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(backend)?;
    }
    let key = random_key()?;
    let draft = path.with_extension(format!("draft-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&draft)
        .and_then(|mut file| file.write_all(&key));
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    // The draft is only a name for the bytes now linked (or refused): a
    // failure to remove it leaves a stray file, not a wrong key.
    let _ = std::fs::remove_file(&draft);
    match linked {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => Err(backend(error)),
        _ => Ok(()),
    }
}

fn random_key() -> Result<[u8; 32], SecretsError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|_| SecretsError::Unsealable("no randomness"))?;
    Ok(key)
}

#[async_trait]
impl DataKeys for LocalDataKeys {
    async fn generate(&self, context: &SealContext) -> Result<DataKey, SecretsError> {
        let plaintext = random_key()?;
        let (nonce, sealed) = seal_bytes(self.master().await?, &context.aad(), &plaintext)?;
        Ok(DataKey {
            plaintext,
            wrapped: [nonce.as_slice(), &sealed].concat(),
        })
    }

    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &SealContext,
    ) -> Result<[u8; 32], SecretsError> {
        if wrapped.len() < NONCE_LEN {
            return Err(SecretsError::Unsealable("the wrapped key is too short"));
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        open_bytes(self.master().await?, nonce, &context.aad(), sealed.to_vec())?
            .try_into()
            .map_err(|_| SecretsError::Unsealable("the wrapped key is not 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_one_private_key_file_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/password.key");
        let first = read_or_make_key(&path).unwrap();
        assert_eq!(read_or_make_key(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(read_or_make_key(&path).is_err());
    }
}
