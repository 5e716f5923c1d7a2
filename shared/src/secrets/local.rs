use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{backend, SecretVault, SecretsError};
use crate::domain::EmailAddress;
use crate::domain::SmtpPassword;

/// The local stand-in for Secrets Manager: one file per address, readable
/// by its owner only, in a folder beside the SQLite database (never in it).
pub struct LocalVault {
    folder: PathBuf,
}

impl LocalVault {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
        }
    }

    /// Addresses are `[a-z0-9._-]+@[a-z0-9.-]+`: safe as file names.
    fn path_for(&self, address: &EmailAddress) -> PathBuf {
        self.folder.join(format!("{address}.secret"))
    }

    fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)?.write_all(contents.as_bytes())
    }
}

#[async_trait]
impl SecretVault for LocalVault {
    async fn store(
        &self,
        address: &EmailAddress,
        password: &SmtpPassword,
    ) -> Result<String, SecretsError> {
        std::fs::create_dir_all(&self.folder).map_err(backend)?;
        let path = self.path_for(address);
        Self::write_private(&path, password.expose()).map_err(backend)?;
        Ok(path.display().to_string())
    }

    async fn read(&self, secret_ref: &str) -> Result<SmtpPassword, SecretsError> {
        let password = std::fs::read_to_string(secret_ref).map_err(backend)?;
        Ok(SmtpPassword::new(password))
    }

    async fn remove(&self, secret_ref: &str) -> Result<(), SecretsError> {
        match std::fs::remove_file(secret_ref) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(backend(error)),
            _ => Ok(()),
        }
    }

    async fn remove_for(&self, address: &EmailAddress) -> Result<(), SecretsError> {
        self.remove(&self.path_for(address).display().to_string())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_one_private_file_per_address_and_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let vault = LocalVault::new(dir.path().join("secrets"));
        let address = EmailAddress::parse("support@example.com").unwrap();
        vault
            .store(&address, &SmtpPassword::new("first".into()))
            .await
            .unwrap();
        let reference = vault
            .store(&address, &SmtpPassword::new("second".into()))
            .await
            .unwrap();
        assert_eq!(vault.read(&reference).await.unwrap().expose(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&reference).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        vault.remove(&reference).await.unwrap();
        vault.remove(&reference).await.unwrap();
        assert!(!Path::new(&reference).exists());
    }
}
