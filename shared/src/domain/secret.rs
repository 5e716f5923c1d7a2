//! A secret handed out once: never printed.

use std::fmt;

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

/// A password sealed under the service's key (`secrets::Sealer`): opaque
/// text, safe to keep in a store for as long as a replay may need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPassword(String);

impl SealedPassword {
    pub fn new(sealed: String) -> Self {
        Self(sealed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
