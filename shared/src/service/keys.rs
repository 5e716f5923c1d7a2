//! API keys for other software: a person makes one (a name, scopes, an
//! expiry), sees it once, lists and revokes theirs; an administrator lists
//! and revokes anyone's. A request's key is checked here, by its hash.

use chrono::{DateTime, Duration, Utc};

use super::{Directory, ServiceError};
use crate::domain::{ApiKeySecret, DomainError, KeyId, KeyName, KeyScopes, UserId};
use crate::store::{ApiKeyRecord, StoreError};

/// How many keys one person may hold.
pub const MAX_KEYS_PER_USER: u32 = 20;
/// A key's life when its maker names none, and the longest one may ask for.
pub const DEFAULT_KEY_DAYS: u32 = 90;
pub const MAX_KEY_DAYS: u32 = 365;

/// A key to make.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub owner: UserId,
    pub name: KeyName,
    pub scopes: KeyScopes,
    /// 1 to `MAX_KEY_DAYS`; `DEFAULT_KEY_DAYS` when `None`.
    pub expires_in_days: Option<u32>,
}

/// A key just made: the only time its secret is known.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    pub secret: ApiKeySecret,
}

/// A request's key, checked: whom it acts as and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub owner: UserId,
    pub id: KeyId,
    pub scopes: KeyScopes,
}

impl Directory {
    pub async fn issue_key(&self, new: NewKey) -> Result<IssuedKey, ServiceError> {
        let days = new.expires_in_days.unwrap_or(DEFAULT_KEY_DAYS);
        if !(1..=MAX_KEY_DAYS).contains(&days) {
            return Err(DomainError::InvalidKey(format!(
                "expires_in_days must be 1 to {MAX_KEY_DAYS}"
            ))
            .into());
        }
        let secret = ApiKeySecret::generate()?;
        let now = self.clock.now();
        let record = ApiKeyRecord {
            id: KeyId::generate()?,
            owner: new.owner,
            name: new.name,
            prefix: secret.visible_prefix(),
            hash: secret.hash(),
            scopes: new.scopes,
            created_at: now,
            expires_at: Some(now + Duration::days(i64::from(days))),
            last_used_at: None,
        };
        match self.store.keys.add_key(&record, MAX_KEYS_PER_USER).await {
            Ok(()) => {}
            Err(StoreError::QuotaExceeded) => {
                return Err(DomainError::InvalidKey(format!(
                    "you hold {MAX_KEYS_PER_USER} keys already: revoke one first"
                ))
                .into())
            }
            Err(other) => return Err(other.into()),
        }
        tracing::info!(key_id = %record.id, owner = %record.owner, scopes = %record.scopes.joined(), "API key made");
        Ok(IssuedKey { record, secret })
    }

    /// `owner`'s keys, or with `None` everyone's (an administrator's list).
    pub async fn keys(&self, owner: Option<&UserId>) -> Result<Vec<ApiKeyRecord>, ServiceError> {
        Ok(self.store.keys.keys_of(owner).await?)
    }

    /// Revokes `owner`'s key `id` (with `None`, whoever's: an administrator).
    pub async fn revoke_key(&self, owner: Option<&UserId>, id: &str) -> Result<(), ServiceError> {
        let not_found = || ServiceError::KeyNotFound(id.to_string());
        let id = KeyId::parse(id).ok_or_else(not_found)?;
        if !self.store.keys.revoke_key(owner, &id).await? {
            return Err(not_found());
        }
        tracing::info!(key_id = %id, by_owner = owner.is_some(), "API key revoked");
        Ok(())
    }

    /// The grant of the key `presented`, if it is a live key: `None` for
    /// anything else (malformed, unknown, revoked, expired), which callers
    /// answer alike. Its use is noted, to the minute.
    pub async fn verify_key(&self, presented: &str) -> Result<Option<KeyGrant>, ServiceError> {
        let Some(secret) = ApiKeySecret::parse(presented) else {
            return Ok(None);
        };
        let hash = secret.hash();
        let Some(record) = self.store.keys.key_by_hash(&hash).await? else {
            return Ok(None);
        };
        let now: DateTime<Utc> = self.clock.now();
        if record.is_expired_at(now) {
            return Ok(None);
        }
        if let Err(error) = self.store.keys.key_used(&hash, now).await {
            tracing::warn!(key_id = %record.id, %error, "could not note an API key's use");
        }
        Ok(Some(KeyGrant {
            owner: record.owner,
            id: record.id,
            scopes: record.scopes,
        }))
    }
}
