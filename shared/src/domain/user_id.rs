use std::fmt;

use super::DomainError;

/// The caller's identity: the verified JWT `sub` claim (or the local-mode header).
/// Opaque to us, but bounded and printable so it is safe in keys and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = |rule: &str| Err(DomainError::InvalidUserId(rule.to_string()));
        if raw.is_empty() || raw.len() > 256 {
            return invalid("user id must be 1 to 256 bytes");
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return invalid("user id must not contain spaces or control characters");
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_subjects_and_refuses_junk() {
        for ok in [
            "3f1c2d9e-1111-4e3b-9d0c-000000000001",
            "auth0|12345",
            "user-1",
        ] {
            assert_eq!(UserId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", " ", "a b", "a\nb", &"x".repeat(257)] {
            assert!(UserId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
