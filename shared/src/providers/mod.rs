//! The seam to the cloud mail providers. Each adapter turns "create this
//! address" into the provider's API calls and hands back SMTP settings.

mod password;
mod sandbox;

use std::fmt;

use async_trait::async_trait;

use crate::domain::{DisplayName, EmailAddress, SmtpSettings};

pub use password::generate_password;
pub use sandbox::SandboxProvider;

/// An SMTP password or API key. Its `Debug` never shows the value, so it
/// cannot leak through a log line or an error; `expose` is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpPassword(String);

impl SmtpPassword {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpPassword(<redacted>)")
    }
}

/// What a provider created for one address.
#[derive(Debug, Clone)]
pub struct ProvisionedAccount {
    pub smtp: SmtpSettings,
    pub password: SmtpPassword,
    pub webmail: Option<String>,
    /// The provider's own id of what it created, for `deprovision`.
    pub provider_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request; retrying the same request won't help.
    #[error("{provider} refused the request: {message}")]
    Rejected {
        provider: &'static str,
        message: String,
    },
    /// The provider could not be reached or is not ready to serve us.
    #[error("{provider} is unavailable: {message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },
}

#[async_trait]
pub trait MailProvider: Send + Sync {
    /// The name users and the table know this provider by.
    fn name(&self) -> &'static str;

    /// Creates what the address needs to send mail. The resource is named
    /// after the address, so it can be found and removed after a crash.
    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
    ) -> Result<ProvisionedAccount, ProviderError>;

    /// Removes what `provision` created; removing something already gone succeeds.
    async fn deprovision(&self, provider_ref: &str) -> Result<(), ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = SmtpPassword::new("hunter2-very-secret".into());
        assert!(!format!("{password:?}").contains("hunter2"));
        assert_eq!(password.expose(), "hunter2-very-secret");
    }
}
