use lambda_http::http::{header, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::config::{AuthMode, MfaPolicy, SensitiveAction};
use crate::domain::{IdempotencyKey, KeyId, KeyScope, KeyScopes, UserId, KEY_PREFIX};
use crate::service::KeyGrant;
use crate::ReadApp;

/// Bodies here are a few short strings; anything bigger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn expect_method(req: &Request, allowed: Method) -> Result<(), ApiError> {
    expect_methods(req, &[allowed])
}

/// The request's method is one of `allowed` (405 with `Allow` naming them all otherwise).
pub fn expect_methods(req: &Request, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(req.method()) {
        return Ok(());
    }
    Err(ApiError::MethodNotAllowed {
        used: req.method().clone(),
        allowed: allowed.to_vec(),
    })
}

/// Who is calling, as the verified token (or key) says, or locally the
/// headers or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    /// The groups the token lists in the groups claim (none for a key).
    pub groups: Vec<String>,
    /// How the person signed in (the `amr` claim): `mfa`, `pwd`, `otp`…
    pub amr: Vec<String>,
    /// The API key the request came with, checked: it acts as its owner
    /// within its scopes. `None` for a person's token.
    pub key: Option<KeyGrant>,
}

impl Caller {
    /// A key may do only what its scopes say; a person may do what a user may.
    pub fn may(&self, scope: KeyScope) -> Result<(), ApiError> {
        match &self.key {
            Some(key) if !key.scopes.allows(scope) => Err(ApiError::InsufficientScope(format!(
                "this API key may not {}: its scopes are {}",
                scope.as_str(),
                key.scopes.joined()
            ))),
            _ => Ok(()),
        }
    }

    /// What only a person signed in may do (make keys, administer).
    pub fn in_person(&self, what: &str) -> Result<(), ApiError> {
        match &self.key {
            Some(_) => Err(ApiError::InsufficientScope(format!(
                "an API key cannot {what}: sign in as a person"
            ))),
            None => Ok(()),
        }
    }

    /// A sensitive action `REQUIRE_MFA_FOR` names needs a person whose
    /// token shows a second factor; an API key never does.
    pub fn second_factor(
        &self,
        action: SensitiveAction,
        policy: &MfaPolicy,
    ) -> Result<(), ApiError> {
        if !policy.requires(action) {
            return Ok(());
        }
        match &self.key {
            Some(_) => Err(ApiError::MfaRequired(format!(
                "to {} this service requires a person signed in with a second factor; an API key cannot",
                action.described()
            ))),
            None if policy.proven_by(&self.amr) => Ok(()),
            None => Err(ApiError::MfaRequired(format!(
                "to {} you must sign in again with a second factor (multi-factor authentication)",
                action.described()
            ))),
        }
    }
}

/// The caller of `req`:
/// - verified by API Gateway: the JWT authorizer's claims (`sub`, the
///   groups claim `app.groups_claim`, `amr`), or the Lambda authorizer's
///   context (the same, or a checked key's owner, id and scopes);
/// - only in local mode and only without either: `Authorization: Bearer
///   epk_…` checked here as the authorizer checks it, else the
///   `X-User-Id`, `X-User-Groups` and `X-User-Amr` headers.
pub async fn caller(req: &Request, app: &ReadApp) -> Result<Caller, ApiError> {
    let verified = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context
                .authorizer
                .as_ref()
                .and_then(|authorizer| match &authorizer.jwt {
                    Some(jwt) => from_claims(&jwt.claims, &app.groups_claim),
                    None => from_authorizer_context(&authorizer.fields),
                })
        }
        _ => None,
    };
    let found = match (verified, app.auth_mode) {
        (Some(found), _) => Some(found),
        (None, AuthMode::Jwt) => None,
        (None, AuthMode::Local) => local_caller(req, app).await?,
    };
    let (sub, groups, amr, key) = found.ok_or(ApiError::Unauthorized)?;
    let user = UserId::parse(&sub).map_err(|_| ApiError::Unauthorized)?;
    Ok(Caller {
        user,
        groups,
        amr,
        key,
    })
}

type Found = (String, Vec<String>, Vec<String>, Option<KeyGrant>);

fn from_claims(
    claims: &std::collections::HashMap<String, String>,
    groups_claim: &str,
) -> Option<Found> {
    let sub = claims.get("sub")?.clone();
    let list = |name: &str| claims.get(name).map_or_else(Vec::new, |raw| groups_in(raw));
    Some((sub, list(groups_claim), list("amr"), None))
}

/// The Lambda authorizer's context (`shared/src/authorizer/` writes it):
/// `sub`, `groups` and `amr` for a token; `sub`, `key_id` and `scopes` for a key.
fn from_authorizer_context(
    fields: &std::collections::HashMap<String, serde_json::Value>,
) -> Option<Found> {
    let text = |name: &str| fields.get(name).and_then(|value| value.as_str());
    let sub = text("sub")?.to_string();
    let list = |name: &str| text(name).map_or_else(Vec::new, groups_in);
    let key = match (text("key_id"), text("scopes")) {
        (Some(id), Some(scopes)) => Some(KeyGrant {
            owner: UserId::parse(&sub).ok()?,
            id: KeyId::parse(id)?,
            scopes: KeyScopes::parse(scopes.split(',')).ok()?,
        }),
        _ => None,
    };
    Some((sub, list("groups"), list("amr"), key))
}

/// The token of an `Authorization: Bearer …` value (the scheme in any case).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

async fn local_caller(req: &Request, app: &ReadApp) -> Result<Option<Found>, ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    if let Some(presented) = header("authorization")
        .as_deref()
        .and_then(bearer_token)
        .filter(|token| token.starts_with(KEY_PREFIX))
    {
        let grant = app
            .directory
            .verify_key(presented)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Some((
            grant.owner.to_string(),
            Vec::new(),
            Vec::new(),
            Some(grant),
        )));
    }
    let Some(sub) = header("x-user-id") else {
        return Ok(None);
    };
    let list = |name: &str| header(name).map_or_else(Vec::new, |raw| groups_in(&raw));
    Ok(Some((sub, list("x-user-groups"), list("x-user-amr"), None)))
}

/// The groups a claim lists. API Gateway hands an array claim over as one
/// string (`[admins staff]`); other issuers put a space- or comma-separated
/// string, or a JSON array.
fn groups_in(raw: &str) -> Vec<String> {
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(raw) {
        return items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect();
    }
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([' ', ','])
        .map(|group| group.trim().trim_matches('"'))
        .filter(|group| !group.is_empty())
        .map(str::to_string)
        .collect()
}

/// API Gateway's request id (the one in its access logs), else Lambda's.
pub fn request_id(req: &Request) -> String {
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    from_gateway
        .or_else(|| {
            req.lambda_context_ref()
                .map(|context| context.request_id.clone())
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "local".to_string())
}

/// A JSON object body, at most `MAX_BODY_BYTES`, decoded into `T`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedContentType);
    }
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|error| ApiError::InvalidBody(error.to_string()))
}

/// The optional `Idempotency-Key` header, parsed (bytes that are not text
/// fail the same rule as any other bad key).
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    req.headers()
        .get("idempotency-key")
        .map(|value| IdempotencyKey::parse(&String::from_utf8_lossy(value.as_bytes())))
        .transpose()
        .map_err(ApiError::from)
}

/// The `limit` query parameter: `default` when absent, else 1 to `max`.
pub fn page_limit(req: &Request, default: u32, max: u32) -> Result<u32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| {
                ApiError::InvalidQuery(format!("limit must be a whole number from 1 to {max}"))
            }),
    }
}

/// One query-string parameter, if present.
pub fn query_param<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
}

/// The `{email}` (percent-decoded) and the action after it, if any, of a
/// path below `prefix`: `/api/email/accounts/{email}` or
/// `/api/email/accounts/{email}/{action}`. `None` for another shape.
pub fn account_path<'r>(req: &'r Request, prefix: &str) -> Option<(String, Option<&'r str>)> {
    let rest = req.uri().path().strip_prefix(prefix)?;
    let (email, action) = match rest.split_once('/') {
        Some((email, action)) if !action.is_empty() && !action.contains('/') => {
            (email, Some(action))
        }
        Some(_) => return None,
        None => (rest, None),
    };
    if email.is_empty() {
        return None;
    }
    let email = percent_encoding::percent_decode_str(email)
        .decode_utf8()
        .ok()?
        .into_owned();
    Some((email, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_in_every_shape_a_claim_takes() {
        for raw in [
            "[admins staff]",
            "admins staff",
            "admins,staff",
            " admins , staff ",
            r#"["admins","staff"]"#,
        ] {
            assert_eq!(groups_in(raw), ["admins", "staff"], "{raw:?}");
        }
        assert!(groups_in("[]").is_empty());
        assert!(groups_in("").is_empty());
    }
}
