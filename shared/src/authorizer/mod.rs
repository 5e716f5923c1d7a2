//! The HTTP API's Lambda authorizer: one check for both kinds of caller on
//! `Authorization: Bearer …`. A person's JWT is verified against the
//! issuer's published keys; an API key (`epk_…`) against its stored hash.
//! What it verified reaches the functions as the authorizer's context,
//! which `http::request::caller` reads: `sub`, `groups`, `amr` for a
//! person; `sub`, `key_id`, `scopes` for a key.
//!
//! A token it cannot verify gets an empty context, not a denial: an HTTP
//! API answers a denial with its own bare 403, while the function, finding
//! no identity, answers the documented 401 `unauthorized`. Nothing passes
//! without a `sub` this code verified.

mod jwt;

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::Error;
use serde_json::{json, Value};

pub use jwt::{JwtVerifier, TokenError, VerifiedToken};

use crate::config::{Config, ConfigError};
use crate::domain::KEY_PREFIX;
use crate::http::bearer_token;
use crate::service::Directory;
use crate::{ReadApp, StartupError};

pub struct AuthorizerApp {
    pub directory: Directory,
    pub tokens: JwtVerifier,
}

impl AuthorizerApp {
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let tokens = verifier(&config)?;
        let read = ReadApp::from_config(&config).await?;
        Ok(Self {
            directory: read.directory,
            tokens,
        })
    }
}

/// `JWT_ISSUER` and `JWT_AUDIENCE`, required: without them no person
/// could ever be verified.
fn verifier(config: &Config) -> Result<JwtVerifier, ConfigError> {
    let invalid = |name, reason: &str| ConfigError::Invalid {
        name,
        reason: reason.into(),
    };
    let issuer = config
        .jwt_issuer
        .as_deref()
        .ok_or_else(|| invalid("JWT_ISSUER", "the authorizer needs the tokens' issuer"))?;
    let loopback = ["http://127.0.0.1:", "http://localhost:"];
    if !issuer.starts_with("https://") && !loopback.iter().any(|local| issuer.starts_with(local)) {
        return Err(invalid("JWT_ISSUER", "must be an https:// URL"));
    }
    if config.jwt_audiences.is_empty() {
        return Err(invalid(
            "JWT_AUDIENCE",
            "the authorizer needs the accepted audiences (client ids)",
        ));
    }
    Ok(JwtVerifier::new(
        issuer,
        config.jwt_audiences.clone(),
        &config.groups_claim,
    ))
}

/// One authorizer invocation. Errors (the store or the issuer out of
/// reach) fail it, and API Gateway refuses the request.
pub async fn authorize(
    app: &AuthorizerApp,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Error> {
    let presented = bearer(&event.payload);
    let context = match presented {
        Some(key) if key.starts_with(KEY_PREFIX) => match app.directory.verify_key(key).await? {
            Some(grant) => json!({
                "sub": grant.owner.to_string(),
                "key_id": grant.id.to_string(),
                "scopes": grant.scopes.joined(),
            }),
            None => refused("an API key that is unknown, revoked or expired"),
        },
        Some(token) => match app.tokens.verify(token).await {
            Ok(person) => json!({
                "sub": person.sub,
                "groups": person.groups.join(","),
                "amr": person.amr.join(","),
            }),
            Err(TokenError::KeysUnavailable(reason)) => {
                return Err(format!("the issuer's keys could not be read: {reason}").into())
            }
            Err(error) => refused(&error.to_string()),
        },
        None => refused("no bearer token"),
    };
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = context;
    Ok(response)
}

/// No identity: the function answers 401. Why is logged (never the token).
fn refused(why: &str) -> Value {
    tracing::info!(reason = why, "caller not verified");
    json!({})
}

fn bearer(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    request
        .identity_source
        .as_ref()
        .and_then(|sources| sources.first().map(String::as_str))
        .or_else(|| {
            request
                .headers
                .get("authorization")
                .and_then(|value| value.to_str().ok())
        })
        .and_then(bearer_token)
}
