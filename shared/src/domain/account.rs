use chrono::{DateTime, Utc};

use super::{DisplayName, EmailAddress, ProviderKind, SendStats, Suspension, UserId};

/// Where an account is in its life. `Pending` while a create is under way,
/// `Failed` when a create was undone (kept for the record, never listed),
/// `Disabled` while its owner has stopped it sending (the address stays theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Pending,
    Active,
    Disabled,
    /// Sending stopped because a guard rail was crossed (`Account::suspension`).
    Suspended,
    Failed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Suspended => "suspended",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Active,
            Self::Disabled,
            Self::Suspended,
            Self::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }

    /// Created and not deleted: an account its owner may change.
    pub fn is_created(self) -> bool {
        matches!(self, Self::Active | Self::Disabled | Self::Suspended)
    }
}

/// How a mail client proves itself to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpAuthentication {
    /// SMTP AUTH (PLAIN/LOGIN over STARTTLS) with the username and password handed out.
    Password,
    /// SMTP AUTH XOAUTH2: an OAuth 2.0 access token of the mailbox; the
    /// password handed out signs in to webmail, and the provider refuses it over SMTP.
    Xoauth2,
}

impl SmtpAuthentication {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Xoauth2 => "xoauth2",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Password, Self::Xoauth2]
            .into_iter()
            .find(|auth| auth.as_str() == raw)
    }
}

/// How to reach the provider's SMTP server; the password is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub server: String,
    pub port: u16,
    pub username: String,
    pub authentication: SmtpAuthentication,
}

/// One generic address as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub owner: UserId,
    pub address: EmailAddress,
    pub display_name: DisplayName,
    pub provider: ProviderKind,
    pub status: AccountStatus,
    /// Why and since when, while `status` is `Suspended`.
    pub suspension: Option<Suspension>,
    pub smtp: Option<SmtpSettings>,
    pub webmail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub stats: SendStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for status in [
            AccountStatus::Pending,
            AccountStatus::Active,
            AccountStatus::Disabled,
            AccountStatus::Failed,
        ] {
            assert_eq!(AccountStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(AccountStatus::parse("deleted"), None);
        for auth in [SmtpAuthentication::Password, SmtpAuthentication::Xoauth2] {
            assert_eq!(SmtpAuthentication::parse(auth.as_str()), Some(auth));
        }
    }
}
