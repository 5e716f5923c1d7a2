//! API keys as the stores keep them: never the key, only its hash.

use chrono::{DateTime, Utc};

use crate::domain::{KeyHash, KeyId, KeyName, KeyScopes, UserId};

/// A key as kept: who it acts as, what it may do, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: KeyId,
    pub owner: UserId,
    pub name: KeyName,
    /// The key's first characters (`epk_Ab3dE9xQ`), to tell keys apart.
    pub prefix: String,
    pub hash: KeyHash,
    pub scopes: KeyScopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires| expires <= now)
    }
}
