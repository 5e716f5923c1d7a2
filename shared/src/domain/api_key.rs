//! API keys: what other software calls the service with. A key is shown
//! once when made; the service keeps only its SHA-256, which is enough for
//! a secret of 256 random bits (nothing to guess, so nothing for a slow
//! hash to slow down), and lets a request be checked with one look-up.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::DomainError;

/// The text every key starts with, so a leaked one is recognisable (secret scanners).
pub const KEY_PREFIX: &str = "epk_";
/// Random bytes in a key: 256 bits.
const KEY_BYTES: usize = 32;
/// How many characters of a key are shown again, to tell keys apart.
const VISIBLE: usize = KEY_PREFIX.len() + 8;

/// What a key may do: the routes of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    /// `POST /api/email/check-availability`
    Check,
    /// `POST /api/email/create`
    Create,
    /// `GET /api/email/my-accounts`, `GET /api/email/policy`
    List,
    /// The account routes: rotate, disable, enable, delete.
    Manage,
}

impl KeyScope {
    pub const ALL: [KeyScope; 4] = [Self::Check, Self::Create, Self::List, Self::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Create => "create",
            Self::List => "list",
            Self::Manage => "manage",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == raw)
    }
}

/// A key's scopes: at least one, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScopes(BTreeSet<KeyScope>);

impl KeyScopes {
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, DomainError> {
        let mut scopes = BTreeSet::new();
        for name in raw {
            let scope = KeyScope::parse(name.trim()).ok_or_else(|| {
                DomainError::InvalidKey(format!(
                    "unknown scope {name:?}; scopes are check, create, list, manage"
                ))
            })?;
            scopes.insert(scope);
        }
        if scopes.is_empty() {
            return Err(DomainError::InvalidKey(
                "a key needs at least one scope: check, create, list, manage".into(),
            ));
        }
        Ok(Self(scopes))
    }

    pub fn allows(&self, scope: KeyScope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = KeyScope> + '_ {
        self.0.iter().copied()
    }

    /// `check,list`: how the stores and the authorizer's context keep them.
    pub fn joined(&self) -> String {
        self.iter()
            .map(KeyScope::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A key's name, for its owner to tell keys apart: 1 to 64 characters, no
/// control characters, white space collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() || name.chars().count() > 64 {
            return Err(DomainError::InvalidKey(
                "a key's name must be 1 to 64 characters".into(),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::InvalidKey(
                "a key's name must not contain control characters".into(),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key itself: `epk_` and 32 random bytes, base64url. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// A new key from the operating system's generator.
    pub fn generate() -> Result<Self, DomainError> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|_| DomainError::InvalidKey("no randomness for a new key".into()))?;
        Ok(Self(format!(
            "{KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// What a caller presents, if it has the shape of a key. The shape says
    /// nothing of whether the key exists.
    pub fn parse(raw: &str) -> Option<Self> {
        let encoded = raw.strip_prefix(KEY_PREFIX)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        (bytes.len() == KEY_BYTES).then(|| Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the stores keep and look a key up by: SHA-256, hex.
    pub fn hash(&self) -> KeyHash {
        KeyHash(hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// The first characters, shown in lists (`epk_Ab3dE9xQ`).
    pub fn visible_prefix(&self) -> String {
        self.0.chars().take(VISIBLE).collect()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(…)")
    }
}

/// The SHA-256 of a key, hex: all the stores know of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    /// A hash as a store kept it.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(raw.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key's public id (in paths and lists): 16 random bytes, hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn generate() -> Result<Self, DomainError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|_| DomainError::InvalidKey("no randomness for a new key".into()))?;
        Ok(Self(hex(&bytes)))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_prefix_and_32_random_bytes_and_hashes_to_what_is_kept() {
        let key = ApiKeySecret::generate().unwrap();
        assert!(key.expose().starts_with("epk_"));
        assert_eq!(key.expose().len(), 4 + 43);
        assert_eq!(ApiKeySecret::parse(key.expose()), Some(key.clone()));
        assert_ne!(ApiKeySecret::generate().unwrap(), key);
        assert_eq!(KeyHash::parse(key.hash().as_str()), Some(key.hash()));
        assert_eq!(key.visible_prefix().len(), 12);
        assert!(!format!("{key:?}").contains(&key.expose()[4..]));
        for junk in [
            "",
            "epk_",
            "epk_short",
            "xpk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(ApiKeySecret::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn scopes_and_names_hold_only_valid_values() {
        let scopes = KeyScopes::parse(["list", "check", "list"]).unwrap();
        assert_eq!(scopes.joined(), "check,list");
        assert!(scopes.allows(KeyScope::Check) && !scopes.allows(KeyScope::Create));
        assert!(KeyScopes::parse([]).is_err());
        assert!(KeyScopes::parse(["admin"]).is_err());
        assert_eq!(
            KeyName::parse("  deploy   pipeline ").unwrap().as_str(),
            "deploy pipeline"
        );
        assert!(KeyName::parse(" ").is_err());
        assert!(KeyName::parse(&"x".repeat(65)).is_err());
        assert!(KeyId::parse(KeyId::generate().unwrap().as_str()).is_some());
        assert!(KeyId::parse("../etc").is_none());
    }
}
