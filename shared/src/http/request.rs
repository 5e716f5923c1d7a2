use lambda_http::http::{header, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::config::AuthMode;
use crate::domain::{IdempotencyKey, UserId};

/// Bodies here are a few short strings; anything bigger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn expect_method(req: &Request, allowed: Method) -> Result<(), ApiError> {
    if req.method() == allowed {
        return Ok(());
    }
    Err(ApiError::MethodNotAllowed {
        used: req.method().clone(),
        allowed,
    })
}

/// The caller's identity: the `sub` claim that API Gateway's JWT authorizer
/// verified, or, only in local mode, the `X-User-Id` header.
pub fn caller(req: &Request, mode: AuthMode) -> Result<UserId, ApiError> {
    let verified_sub = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("sub"))
            .cloned(),
        _ => None,
    };
    let local_header = || {
        req.headers()
            .get("x-user-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let raw = match mode {
        AuthMode::Jwt => verified_sub,
        AuthMode::Local => verified_sub.or_else(local_header),
    }
    .ok_or(ApiError::Unauthorized)?;
    UserId::parse(&raw).map_err(|_| ApiError::Unauthorized)
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
