use std::fmt;

use super::DomainError;

/// The client's `Idempotency-Key`: 1 to 128 characters of
/// `A-Z a-z 0-9 . _ : -` (a UUID fits), so it can sit in a store key
/// beside the user id without ambiguity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let key = raw.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if key.is_empty() || key.len() > 128 || !key.chars().all(allowed) {
            return Err(DomainError::InvalidIdempotencyKey(
                "Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (a UUID, say)"
                    .into(),
            ));
        }
        Ok(Self(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_refuses_separators_and_junk() {
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(IdempotencyKey::parse(uuid).unwrap().as_str(), uuid);
        for bad in ["", "a#b", "has space", "é", &"k".repeat(129)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
