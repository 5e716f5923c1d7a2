//! The seam to the cloud mail providers. Each adapter turns "create this
//! address" into the provider's API calls and hands back SMTP settings.

mod google;
pub mod http;
mod microsoft365;
mod oauth;
mod password;
mod sandbox;
mod sendgrid;
mod ses;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::mail_dns::ProviderVerdict;
use crate::domain::{
    DisplayName, DomainName, EmailAddress, ProviderKind, SmtpPassword, SmtpSettings,
};
use crate::secrets::ProviderSettings;

pub use google::{GoogleProvider, DEFAULT_GOOGLE_ADMIN_URL, DEFAULT_GOOGLE_TOKEN_URL};
pub use microsoft365::{
    Microsoft365Provider, DEFAULT_MICROSOFT_GRAPH_URL, DEFAULT_MICROSOFT_LOGIN_URL,
};
pub use password::generate_password;
pub use sandbox::SandboxProvider;
pub use sendgrid::{SendGridProvider, DEFAULT_SENDGRID_API_URL};
pub use ses::{iam_user_name, smtp_password, SesProvider, SesSettings};

/// How this service marks what it makes at a provider: its own name, and
/// the token of the create (or rotation) that made it. A crash's clean-up
/// removes only what carries both, never something someone else made at
/// the same address (an employee's mailbox, an alias, a key of theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    token: String,
}

impl Mark {
    /// The name every mark carries.
    pub const SERVICE: &'static str = "email-provisioning";

    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// `email-provisioning:<token>`, where a provider keeps one string.
    pub fn label(&self) -> String {
        format!("{}:{}", Self::SERVICE, self.token)
    }

    /// The mark a label names, if it is one of this service's.
    pub fn from_label(label: &str) -> Option<Self> {
        let token = label.strip_prefix(Self::SERVICE)?.strip_prefix(':')?;
        (!token.is_empty()).then(|| Self::new(token))
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

/// The credential an account's SMTP login uses, as the table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The provider's id of what `provision` made (for SendGrid, the key's id).
    pub provider_ref: String,
    /// The SMTP username (for SES, the access key's id).
    pub smtp_username: String,
}

/// A credential issued to replace the current one; its password is shown once.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    pub credential: Credential,
    pub password: SmtpPassword,
}

/// What a usage report says one mailbox sent on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSends {
    pub address: EmailAddress,
    pub sends: u32,
}

/// A provider account's slots (API keys, IAM users, licences), each address
/// taking one: how many it has, and how many are taken where the provider
/// counts them (`None`, as for the sandbox: the service counts its own
/// addresses there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub used: Option<u64>,
    pub limit: u64,
}

/// How much of its sending allowance a provider account has used.
#[derive(Debug, Clone, PartialEq)]
pub struct SendingQuota {
    /// Messages the account may send in the period.
    pub limit: f64,
    pub used: f64,
    /// `24h` (SES's rolling window) or the provider's own reset period.
    pub period: String,
}

impl SendingQuota {
    /// `used` as a percentage of `limit` (0 for a limit of 0: nothing to use).
    pub fn used_percent(&self) -> f64 {
        if self.limit > 0.0 {
            100.0 * self.used / self.limit
        } else {
            0.0
        }
    }
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
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// Creates what the address needs to send mail, carrying `mark`, so a
    /// crash's clean-up can tell it from anything else at the address. An
    /// answer lost on the way is not followed by a blind second create: the
    /// adapter looks for its mark first, and what it already made with this
    /// mark counts as made.
    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError>;

    /// Removes the account `provision` made (`provider_ref`) and every
    /// credential issued to it since, spares of a rotation whose revoke
    /// failed included; what is already gone is fine.
    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError>;

    /// The clean-up of a create that died before it kept its ref: removes
    /// only what carries `mark` (this service's name and that create's
    /// token), never what someone else made at the address.
    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError>;

    /// Issues a new credential for the account, carrying `mark` where the
    /// provider keeps one per credential. Where the provider holds two at
    /// once (SendGrid keys, IAM access keys) `current` keeps working until
    /// `revoke_credential`, and leftovers of a rotation that died
    /// (credentials other than `current`) are removed first; where a new
    /// password replaces the old one (mailboxes), `current` stops at once.
    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError>;

    /// Revokes a credential `issue_credential` replaced; one already gone is
    /// fine. Where a new password replaced the old one, nothing is left to do.
    async fn revoke_credential(
        &self,
        _address: &EmailAddress,
        _replaced: &Credential,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// What each mailbox sent on `day` (UTC), from the provider's usage
    /// reports: for the providers that push no send events (`None` for the others).
    async fn daily_sends(
        &self,
        _day: NaiveDate,
    ) -> Result<Option<Vec<MailboxSends>>, ProviderError> {
        Ok(None)
    }

    /// The provider account's sending allowance and use, where its API says
    /// (`None` where it has no such API).
    async fn sending_quota(&self) -> Result<Option<SendingQuota>, ProviderError> {
        Ok(None)
    }

    /// The provider account's slots, where they are bounded and known
    /// (`None` elsewhere): what a create would take one of.
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        Ok(None)
    }

    /// What the provider itself says of `domain` as a sender (verified,
    /// pending, unknown to it), and the DKIM records it signs with; `None`
    /// where it keeps no such verdict.
    async fn domain_verdict(
        &self,
        _domain: &DomainName,
    ) -> Result<Option<ProviderVerdict>, ProviderError> {
        Ok(None)
    }

    /// Stops the account sending (`allowed: false`) or lets it send again,
    /// with the credential it has.
    async fn set_sending(
        &self,
        address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError>;
}

/// The company's directory (a Microsoft 365 or Google Workspace tenant):
/// an address it already has must never be handed out, whatever provider
/// the new address would go to, or it would pass for an employee.
#[async_trait]
pub trait CompanyDirectory: Send + Sync {
    /// Whether it already has `address`: a mailbox, an alias or a group.
    async fn holds(&self, address: &EmailAddress) -> Result<bool, ProviderError>;
}

/// A setting the provider cannot work without.
async fn required(
    settings: &ProviderSettings,
    provider: &'static str,
    key: &str,
) -> Result<String, ProviderError> {
    optional(settings, provider, key)
        .await?
        .ok_or_else(|| ProviderError::Unavailable {
            provider,
            message: format!("{key} is not configured"),
        })
}

async fn optional(
    settings: &ProviderSettings,
    provider: &'static str,
    key: &str,
) -> Result<Option<String>, ProviderError> {
    settings
        .get(key)
        .await
        .map_err(|error| ProviderError::Unavailable {
            provider,
            message: format!("its settings could not be read: {error}"),
        })
}

/// A new mailbox password (24 characters, see `generate_password`).
fn new_password(provider: &'static str) -> Result<SmtpPassword, ProviderError> {
    generate_password(24).map_err(|error| ProviderError::Unavailable {
        provider,
        message: format!("no randomness for a password: {error}"),
    })
}

/// The providers a deployment offers: the default one (`EMAIL_PROVIDER`)
/// and any others a request may pick by name (`EMAIL_PROVIDERS`).
#[derive(Clone)]
pub struct Providers {
    offered: Vec<Arc<dyn MailProvider>>,
    /// Domains whose creates go to another provider than the default one.
    by_domain: Vec<(DomainName, Arc<dyn MailProvider>)>,
}

impl Providers {
    /// `default` first; a provider named twice is offered once.
    pub fn new(default: Arc<dyn MailProvider>, others: Vec<Arc<dyn MailProvider>>) -> Self {
        let mut offered = vec![default];
        for provider in others {
            if offered.iter().all(|p| p.kind() != provider.kind()) {
                offered.push(provider);
            }
        }
        Self {
            offered,
            by_domain: Vec::new(),
        }
    }

    pub fn single(provider: Arc<dyn MailProvider>) -> Self {
        Self::new(provider, Vec::new())
    }

    /// Creates on `domain` go to the offered provider `kind` unless they name
    /// another; `None` if no such provider is offered.
    pub fn with_domain_provider(mut self, domain: DomainName, kind: ProviderKind) -> Option<Self> {
        let provider = Arc::clone(self.offered.iter().find(|p| p.kind() == kind)?);
        self.by_domain.push((domain, provider));
        Some(self)
    }

    /// The requested provider, or the domain's, or the default one; `None`
    /// if the requested one is not offered.
    pub fn choose(
        &self,
        requested: Option<ProviderKind>,
        domain: &DomainName,
    ) -> Option<&Arc<dyn MailProvider>> {
        match requested {
            Some(kind) => self.offered.iter().find(|p| p.kind() == kind),
            None => self
                .by_domain
                .iter()
                .find(|(offered, _)| offered == domain)
                .map(|(_, provider)| provider)
                .or(self.offered.first()),
        }
    }

    /// The providers a create on `domain` may go to: the domain's own, or
    /// else every offered one (a request may name any).
    pub fn serving(&self, domain: &DomainName) -> Vec<&Arc<dyn MailProvider>> {
        match self.by_domain.iter().find(|(offered, _)| offered == domain) {
            Some((_, provider)) => vec![provider],
            None => self.offered.iter().collect(),
        }
    }

    /// Every offered provider, the default first.
    pub fn offered(&self) -> &[Arc<dyn MailProvider>] {
        &self.offered
    }

    /// `sendgrid, ses`: for messages.
    pub fn names(&self) -> String {
        self.offered
            .iter()
            .map(|p| p.kind().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_from_its_label_and_nothing_else_does() {
        let mark = Mark::new("0f8fad5b");
        assert_eq!(mark.label(), "email-provisioning:0f8fad5b");
        assert_eq!(Mark::from_label(&mark.label()), Some(mark));
        for other in [
            "",
            "Employee",
            "email-provisioning",
            "email-provisioning:",
            "x:0f8fad5b",
        ] {
            assert_eq!(Mark::from_label(other), None, "{other:?}");
        }
    }
}
