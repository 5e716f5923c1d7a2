//! The Lambda authorizer in front of every route, on SQLite and on
//! DynamoDB alike: a person's JWT verified against a fake issuer's
//! published keys (OIDC discovery, JWKS) and an API key against its hash;
//! what it verified, handed to a function as API Gateway hands it, is the
//! caller; anything it cannot verify reaches the function with no identity
//! and is the documented 401.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use integration_tests::calls::{assert_error, create_as, send, Route};
use integration_tests::events::Event;
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::authorizer::{authorize, AuthorizerApp, JwtVerifier};
use provisioning::config::AuthMode;
use provisioning::providers::SandboxProvider;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUDIENCE: &str = "panel-client-id";

/// An issuer's signing key, published in its JWKS under `kid`.
struct SigningKey {
    kid: String,
    pair: rcgen::KeyPair,
}

impl SigningKey {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        // An uncompressed P-256 point: 0x04, then x and y.
        let point = self.pair.public_key_raw();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let key = EncodingKey::from_ec_pem(self.pair.serialize_pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

/// A fake sign-in: its discovery document and its JWKS (`published`).
async fn issuer(published: &[&SigningKey]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "jwks_uri": format!("{}/jwks.json", server.uri()),
        })))
        .mount(&server)
        .await;
    let keys: Vec<Value> = published.iter().map(|key| key.jwk()).collect();
    Mock::given(method("GET"))
        .and(path("/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })))
        .mount(&server)
        .await;
    server
}

fn authorizer_app(world: &impl World, issuer: &str) -> AuthorizerApp {
    AuthorizerApp {
        directory: world.app().read().directory.clone(),
        tokens: JwtVerifier::new(issuer, vec![AUDIENCE.into()], "cognito:groups"),
    }
}

/// The authorizer's context for `authorization` (the header as sent).
async fn context_for(app: &AuthorizerApp, authorization: Option<&str>) -> Value {
    let mut event = Event::load("authorizer").0;
    match authorization {
        Some(value) => {
            event["identitySource"] = json!([value]);
            event["headers"]["authorization"] = json!(value);
        }
        None => {
            event["identitySource"] = Value::Null;
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        }
    }
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).unwrap();
    let answer = authorize(app, LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    answer["context"].clone()
}

/// `event` as API Gateway hands it on after the authorizer: its context
/// under `requestContext.authorizer.lambda`.
fn through(event: Event, context: &Value) -> Event {
    let mut event = event.anonymous();
    event.0["requestContext"]["authorizer"] = json!({ "lambda": context });
    event
}

fn claims(issuer: &str, extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "alice", "iss": issuer, "aud": AUDIENCE, "iat": now, "exp": now + 600,
        "cognito:groups": ["staff", "email-admins"], "amr": ["pwd", "mfa"],
    });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

async fn a_persons_token_is_verified_and_becomes_the_caller(world: &impl World) {
    let key = SigningKey::new("k1");
    let server = issuer(&[&key]).await;
    let app = authorizer_app(world, &server.uri());
    let iss = server.uri();
    let bearer = |claims: &Value| format!("Bearer {}", key.sign(claims));

    let context = context_for(&app, Some(&bearer(&claims(&iss, json!({}))))).await;
    assert_eq!(
        context,
        json!({ "sub": "alice", "groups": "staff,email-admins", "amr": "pwd,mfa" })
    );
    // A Cognito access token names its client in client_id, not aud.
    let access = claims(&iss, json!({ "client_id": AUDIENCE }));
    let mut access = access.as_object().unwrap().clone();
    access.remove("aud");
    let context = context_for(&app, Some(&bearer(&Value::Object(access)))).await;
    assert_eq!(context["sub"], "alice");

    // The function reads the context: alice's addresses.
    let functions = world.app();
    assert_eq!(
        create_as(&functions, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let (status, listed) = send(
        &functions,
        Route::List,
        &through(Event::load("my-accounts"), &context),
    )
    .await;
    assert_eq!(
        (status, listed["accounts"][0]["email"].clone()),
        (200, json!("contact@example.com"))
    );
}

async fn an_unverifiable_token_reaches_the_function_as_nobody(world: &impl World) {
    let key = SigningKey::new("k1");
    let stranger = SigningKey::new("k1");
    let server = issuer(&[&key]).await;
    let app = authorizer_app(world, &server.uri());
    let iss = server.uri();
    let now = chrono::Utc::now().timestamp();
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&iss, json!({})),
        &EncodingKey::from_secret(b"a shared secret"),
    )
    .unwrap();
    let unsigned = {
        let body = URL_SAFE_NO_PAD.encode(claims(&iss, json!({})).to_string());
        format!(
            "{}.{body}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#)
        )
    };
    let refused = [
        Some(format!(
            "Bearer {}",
            key.sign(&claims(&iss, json!({ "exp": now - 120 })))
        )),
        Some(format!(
            "Bearer {}",
            key.sign(&claims(&iss, json!({ "aud": "another-app" })))
        )),
        Some(format!(
            "Bearer {}",
            key.sign(&claims("https://other.example", json!({})))
        )),
        Some(format!(
            "Bearer {}",
            key.sign(&claims(&iss, json!({ "sub": "" })))
        )),
        Some(format!(
            "Bearer {}",
            stranger.sign(&claims(&iss, json!({})))
        )),
        Some(format!(
            "Bearer {}",
            SigningKey::new("k9").sign(&claims(&iss, json!({})))
        )),
        Some(format!("Bearer {hs256}")),
        Some(format!("Bearer {unsigned}")),
        Some("Bearer not.a.token".into()),
        Some(format!("Basic {}", key.sign(&claims(&iss, json!({}))))),
        Some("Bearer epk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        None,
    ];
    let functions = world.app();
    for authorization in refused {
        let context = context_for(&app, authorization.as_deref()).await;
        assert_eq!(context, json!({}), "{authorization:?}");
        assert_error(
            &send(
                &functions,
                Route::List,
                &through(Event::load("my-accounts"), &context),
            )
            .await,
            401,
            "unauthorized",
        );
    }
    // Unknown key ids sent in a burst read the issuer's keys once, not once each.
    let jwks_reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/jwks.json")
        .count();
    assert_eq!(jwks_reads, 1);
}

async fn an_api_key_is_verified_until_revoked_or_expired(world: &impl World) {
    let server = issuer(&[]).await;
    let app = authorizer_app(world, &server.uri());
    let local = world.app_with(Arc::new(SandboxProvider::default()), 10, AuthMode::Local);
    let make_key = |body: Value| {
        let event = Event::load("keys-create")
            .anonymous()
            .header("x-user-id", "alice")
            .json(body);
        let local = &local;
        async move { send(local, Route::Keys, &event).await.1 }
    };
    let issued = make_key(json!({ "name": "pipeline", "scopes": ["list", "check"] })).await;
    let bearer = format!("Bearer {}", issued["key"].as_str().unwrap());
    let context = context_for(&app, Some(&bearer)).await;
    assert_eq!(
        context,
        json!({ "sub": "alice", "key_id": issued["id"], "scopes": "check,list" })
    );
    let functions = world.app();
    let listing = through(Event::load("my-accounts"), &context);
    assert_eq!(send(&functions, Route::List, &listing).await.0, 200);
    assert_error(
        &send(
            &functions,
            Route::Create,
            &through(Event::load("create"), &context).json(json!({ "username": "sales" })),
        )
        .await,
        403,
        "insufficient_scope",
    );

    let id = issued["id"].as_str().unwrap();
    let revoke = Event::load("keys-revoke")
        .anonymous()
        .header("x-user-id", "alice")
        .path(&format!("/api/keys/{id}"), json!({ "id": id }));
    assert_eq!(send(&local, Route::Keys, &revoke).await.0, 200);
    assert_eq!(context_for(&app, Some(&bearer)).await, json!({}));

    let another =
        make_key(json!({ "name": "short", "scopes": ["list"], "expires_in_days": 1 })).await;
    let bearer = format!("Bearer {}", another["key"].as_str().unwrap());
    assert_eq!(context_for(&app, Some(&bearer)).await["sub"], "alice");
    world
        .clock()
        .advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(context_for(&app, Some(&bearer)).await, json!({}));
}

/// The issuer out of reach: the authorizer fails (API Gateway refuses the
/// request) rather than let anyone through or call them nobody.
async fn an_issuer_out_of_reach_fails_the_authorizer(world: &impl World) {
    let key = SigningKey::new("k1");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let app = authorizer_app(world, &server.uri());
    let mut event = Event::load("authorizer").0;
    event["identitySource"] = json!([format!(
        "Bearer {}",
        key.sign(&claims(&server.uri(), json!({})))
    )]);
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).unwrap();
    assert!(
        authorize(&app, LambdaEvent::new(request, Context::default()))
            .await
            .is_err()
    );
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_persons_token_is_verified_and_becomes_the_caller,
        an_unverifiable_token_reaches_the_function_as_nobody,
        an_api_key_is_verified_until_revoked_or_expired,
        an_issuer_out_of_reach_fails_the_authorizer,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_persons_token_is_verified_and_becomes_the_caller,
        an_unverifiable_token_reaches_the_function_as_nobody,
        an_api_key_is_verified_until_revoked_or_expired,
        an_issuer_out_of_reach_fails_the_authorizer,
    );
}
