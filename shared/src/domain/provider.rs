//! Which mail provider an address lives at: a closed set, matched
//! exhaustively wherever it decides something.

use std::fmt;

/// The mail providers this build can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Sandbox,
    Sendgrid,
    Ses,
    Microsoft365,
    Google,
}

impl ProviderKind {
    pub const ALL: [Self; 5] = [
        Self::Sandbox,
        Self::Sendgrid,
        Self::Ses,
        Self::Microsoft365,
        Self::Google,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Sendgrid => "sendgrid",
            Self::Ses => "ses",
            Self::Microsoft365 => "microsoft365",
            Self::Google => "google",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
    }

    /// Whether the provider keeps a verdict of its own on a sending domain
    /// (SES's identity verification, SendGrid's domain authentication):
    /// elsewhere mail from any of its domains can go out
    /// (`MailProvider::domain_verdict` is `None`).
    pub fn verifies_domains(self) -> bool {
        matches!(self, Self::Ses | Self::Sendgrid)
    }

    /// Whether it keeps a directory of mailboxes, aliases and groups
    /// (the sandbox keeps `SANDBOX_EXISTING`'s).
    pub fn hosts_mailboxes(self) -> bool {
        match self {
            Self::Microsoft365 | Self::Google | Self::Sandbox => true,
            Self::Sendgrid | Self::Ses => false,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_nothing_else_does() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        }
        for unknown in ["", "smtp", "SendGrid ", "mailchimp"] {
            assert_eq!(ProviderKind::parse(unknown), None, "{unknown:?}");
        }
    }
}
