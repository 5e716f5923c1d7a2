//! A person's token, verified as API Gateway's JWT authorizer verifies it:
//! signed by a key the issuer publishes (OIDC discovery, then its JWKS),
//! by that issuer, for one of our audiences (`aud`, or Cognito access
//! tokens' `client_id`), not expired.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::RwLock;

use crate::providers::http::{ProviderHttp, RetryPolicy};

/// A key the token names but the cached set lacks is looked for again,
/// at most this often (an issuer rotating keys; not a flood of made-up ids).
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("not a signed JWT: {0}")]
    Malformed(String),
    #[error("signed with {0:?}, which this service does not accept")]
    Algorithm(Algorithm),
    #[error("signed by a key the issuer does not publish")]
    UnknownKey,
    #[error("refused: {0}")]
    Invalid(String),
    #[error("issued for another audience")]
    Audience,
    #[error("the issuer's keys could not be read: {0}")]
    KeysUnavailable(String),
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub sub: String,
    pub groups: Vec<String>,
    pub amr: Vec<String>,
}

pub struct JwtVerifier {
    issuer: String,
    audiences: Vec<String>,
    groups_claim: String,
    http: ProviderHttp,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl JwtVerifier {
    pub fn new(issuer: &str, audiences: Vec<String>, groups_claim: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            audiences,
            groups_claim: groups_claim.to_string(),
            http: ProviderHttp::new(RetryPolicy {
                attempts: 2,
                timeout: Duration::from_secs(3),
                ..RetryPolicy::default()
            }),
            keys: RwLock::new(None),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| TokenError::Malformed(error.to_string()))?;
        if matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        // Checked below: an access token names its client in `client_id`.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|error| TokenError::Invalid(error.to_string()))?
            .claims;
        if !self.for_us(&claims) {
            return Err(TokenError::Audience);
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| TokenError::Invalid("no subject".into()))?;
        Ok(VerifiedToken {
            sub: sub.to_string(),
            // Some issuers put groups in one string, separated by spaces or commas.
            groups: strings(claims.get(&self.groups_claim))
                .iter()
                .flat_map(|listed| listed.split([',', ' ']))
                .filter(|group| !group.is_empty())
                .map(str::to_string)
                .collect(),
            amr: strings(claims.get("amr")),
        })
    }

    fn for_us(&self, claims: &Map<String, Value>) -> bool {
        let named = strings(claims.get("aud"))
            .into_iter()
            .chain(strings(claims.get("client_id")));
        named
            .into_iter()
            .any(|audience| self.audiences.contains(&audience))
    }

    /// The issuer's key `kid`: from the cached set, or from a fresh one
    /// when the cache lacks it and was not read in the last minute.
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let stale = {
            let cached = self.keys.read().await;
            if let Some(found) = cached.as_ref().and_then(|(set, _)| set.find(kid)) {
                return DecodingKey::from_jwk(found).map_err(|_| TokenError::UnknownKey);
            }
            cached
                .as_ref()
                .is_none_or(|(_, read_at)| read_at.elapsed() >= REFRESH_AT_MOST_EVERY)
        };
        if !stale {
            return Err(TokenError::UnknownKey);
        }
        let fresh = self.fetch_keys().await?;
        let found = fresh.find(kid).map(DecodingKey::from_jwk);
        *self.keys.write().await = Some((fresh, Instant::now()));
        match found {
            Some(Ok(key)) => Ok(key),
            _ => Err(TokenError::UnknownKey),
        }
    }

    async fn fetch_keys(&self) -> Result<JwkSet, TokenError> {
        let unavailable =
            |error: crate::providers::ProviderError| TokenError::KeysUnavailable(error.to_string());
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer);
        let response = self
            .http
            .send("issuer", &[], || self.http.client().get(&discovery_url))
            .await
            .map_err(unavailable)?;
        let discovery: Discovery = ProviderHttp::json("issuer", response)
            .await
            .map_err(unavailable)?;
        let response = self
            .http
            .send("issuer", &[], || {
                self.http.client().get(&discovery.jwks_uri)
            })
            .await
            .map_err(unavailable)?;
        ProviderHttp::json("issuer", response)
            .await
            .map_err(unavailable)
    }
}

/// A claim that holds one string or a list of them (`aud`, `amr`, groups).
fn strings(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}
