//! An OAuth 2.0 access token kept until shortly before it expires, shared by
//! the calls of one execution environment (Microsoft Graph, Google Admin SDK).

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::ProviderError;

/// Renew this long before the provider says the token expires.
const EARLY_RENEWAL: Duration = Duration::from_secs(60);

/// What a token endpoint answers (RFC 6749 section 5.1).
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Default)]
pub struct CachedToken(Mutex<Option<(String, Instant)>>);

impl CachedToken {
    /// The cached token while it is fresh, else the one `fetch` gets.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenResponse, ProviderError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((token, renew_at)) = cached.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let fresh = fetch().await?;
        let lifetime = Duration::from_secs(fresh.expires_in).saturating_sub(EARLY_RENEWAL);
        *cached = Some((fresh.access_token.clone(), Instant::now() + lifetime));
        Ok(fresh.access_token)
    }
}
