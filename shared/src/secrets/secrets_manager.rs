use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::{backend, SecretVault, SecretsError};
use crate::domain::EmailAddress;
use crate::domain::SmtpPassword;

/// One AWS Secrets Manager secret per address, named `<prefix><address>`.
pub struct SecretsManagerVault {
    client: Client,
    prefix: String,
}

impl SecretsManagerVault {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    fn name_for(&self, address: &EmailAddress) -> String {
        format!("{}{address}", self.prefix)
    }
}

#[async_trait]
impl SecretVault for SecretsManagerVault {
    async fn store(
        &self,
        address: &EmailAddress,
        password: &SmtpPassword,
    ) -> Result<String, SecretsError> {
        let name = self.name_for(address);
        let created = self
            .client
            .create_secret()
            .name(&name)
            .description(format!("SMTP password of {address} (email-provisioning)"))
            .secret_string(password.expose())
            .send()
            .await;
        let arn = match created {
            Ok(output) => output.arn().map(str::to_string),
            Err(error) => {
                let error = error.into_service_error();
                if !error.is_resource_exists_exception() {
                    return Err(backend(error));
                }
                // The account's own secret, on a rotation; or one left by a
                // create that crashed before its clean-up: this request holds
                // the address now, so the secret is ours to replace.
                self.client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(password.expose())
                    .send()
                    .await
                    .map_err(backend)?
                    .arn()
                    .map(str::to_string)
            }
        };
        Ok(arn.unwrap_or(name))
    }

    async fn read(&self, secret_ref: &str) -> Result<SmtpPassword, SecretsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_ref)
            .send()
            .await
            .map_err(backend)?;
        let password = output.secret_string().unwrap_or_default().to_string();
        Ok(SmtpPassword::new(password))
    }

    async fn remove(&self, secret_ref: &str) -> Result<(), SecretsError> {
        let deleted = self
            .client
            .delete_secret()
            .secret_id(secret_ref)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted.map_err(|error| error.into_service_error()) {
            Err(error) if !error.is_resource_not_found_exception() => Err(backend(error)),
            _ => Ok(()),
        }
    }

    async fn remove_for(&self, address: &EmailAddress) -> Result<(), SecretsError> {
        self.remove(&self.name_for(address)).await
    }
}
