//! No secret reaches a log line: every event of a create and of a
//! rotation, at TRACE level, is captured and searched for the passwords
//! they handed out, and likewise an API key made and used (by a function
//! and by the authorizer), and keys and tokens refused; none is in the
//! table either.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::calls::{account_action_as, create_as, read};
use integration_tests::events::Event;
use integration_tests::provider_fakes::sendgrid::sendgrid_error;
use integration_tests::provider_fakes::settings;
use integration_tests::{local_keys_beside, sqlite_at, Parts, TestClock};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::authorizer::{authorize, AuthorizerApp, JwtVerifier};
use provisioning::config::AuthMode;
use provisioning::http::{create, key_routes, list_routes};
use provisioning::providers::http::{ProviderHttp, RetryPolicy};
use provisioning::providers::{SandboxProvider, SendGridProvider};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A function process on the SQLite file at `path`, with the sandbox.
fn sandbox_app(path: &std::path::Path, auth: AuthMode) -> provisioning::App {
    Parts {
        store: sqlite_at(path),
        keys: local_keys_beside(path),
        provider: Arc::new(SandboxProvider::default()),
        clock: Arc::new(TestClock::default()),
    }
    .app(10, auth)
}

#[tokio::test]
async fn a_create_and_a_rotation_log_no_password() {
    let (captured, _guard) = capture();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    let app = sandbox_app(&path, AuthMode::Jwt);
    let event = Event::load("create")
        .user("alice")
        .json(json!({ "username": "support" }));
    let (status, body) = read(create(&app, event.request()).await.unwrap());
    assert_eq!(status, 201);
    let password = body["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();

    let conflict = Event::load("create")
        .user("bob")
        .json(json!({ "username": "support" }));
    assert_eq!(read(create(&app, conflict.request()).await.unwrap()).0, 409);
    // The rotation with a key, then its replay, which unseals the password.
    let rotate = || {
        account_action_as(
            &app,
            "alice",
            "support@example.com",
            "rotate-credentials",
            Some("k-1"),
        )
    };
    let rotated = rotate().await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    let new_password = rotated.1["credentials"]["password"].as_str().unwrap();
    let replayed = rotate().await;
    assert_eq!(
        replayed.1["credentials"]["password"].as_str(),
        Some(new_password)
    );

    let logs = captured.text();
    assert!(
        logs.contains("request served"),
        "the capture saw the request log:\n{logs}"
    );
    assert!(logs.contains("\"status\":201"), "{logs}");
    // The database and its write-ahead log, where recent writes sit.
    let mut table = std::fs::read(&path).unwrap();
    table.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    let holds = |text: &str| table.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        holds("support@example.com"),
        "the table's bytes are searched"
    );
    for handed_out in [password.as_str(), new_password] {
        let secret_part = handed_out.trim_start_matches("sandbox-");
        assert!(
            !logs.contains(secret_part),
            "a password leaked into the logs:\n{logs}"
        );
        assert!(!holds(secret_part), "a password is in the table");
    }
}

#[tokio::test]
async fn provider_keys_stay_out_of_logs_and_error_answers() {
    const ADMIN_KEY: &str = "SG.admin-key-never-logged";
    let (captured, _guard) = capture();
    let sendgrid = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{ "domain": "example.com", "valid": true }])),
        )
        .mount(&sendgrid)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .and(body_string_contains(
            "email-provisioning support@example.com ",
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "api_key": "SG.user-key-secret", "api_key_id": "k1" })),
        )
        .mount(&sendgrid)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .respond_with(sendgrid_error(403, "access forbidden"))
        .mount(&sendgrid)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    let app = Parts {
        store: sqlite_at(&path),
        keys: local_keys_beside(&path),
        provider: Arc::new(SendGridProvider::new(
            ProviderHttp::new(RetryPolicy::default()),
            &sendgrid.uri(),
            settings(&[("SENDGRID_API_KEY", ADMIN_KEY)]),
        )),
        clock: Arc::new(TestClock::default()),
    }
    .app(10, AuthMode::Jwt);

    let created = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(created.0, 201);
    let refused = create_as(&app, "alice", json!({ "username": "sales" })).await;
    assert_eq!(refused.0, 503, "{}", refused.1);

    let logs = captured.text();
    assert!(
        logs.contains("access forbidden"),
        "the provider's reason is logged:\n{logs}"
    );
    for secret in [ADMIN_KEY, "SG.user-key-secret"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
        assert!(!refused.1.to_string().contains(secret));
    }
}

#[tokio::test]
async fn an_api_key_is_in_no_log_and_not_in_the_table() {
    let (captured, _guard) = capture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    let app = sandbox_app(&path, AuthMode::Local);
    let made = Event::load("keys-create").user("alice");
    let (status, issued) = read(key_routes(app.read(), made.request()).await.unwrap());
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_string();
    // The key used (it is checked, and its use noted), then listed.
    let used = Event::load("my-accounts")
        .anonymous()
        .header("authorization", &format!("Bearer {key}"));
    assert_eq!(
        read(list_routes(app.read(), used.request()).await.unwrap()).0,
        200
    );
    // The authorizer checks it as well, and refuses an altered key and a
    // token it cannot verify: none of the three is logged.
    let authorizer = AuthorizerApp {
        directory: app.read().directory.clone(),
        tokens: JwtVerifier::new("https://issuer.invalid", vec!["panel".into()], "groups"),
    };
    // One character changed in the middle: a key of the right shape, unknown.
    let altered: String = key
        .char_indices()
        .map(|(at, c)| match (at, c) {
            (20, 'A') => 'B',
            (20, _) => 'A',
            _ => c,
        })
        .collect();
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW5ldmVyLWxvZ2dlZA";
    for (presented, verified) in [
        (key.as_str(), true),
        (altered.as_str(), false),
        (token, false),
    ] {
        let mut event = Event::load("authorizer").0;
        event["identitySource"] = json!([format!("Bearer {presented}")]);
        let request = serde_json::from_value(event).unwrap();
        let answer = authorize(&authorizer, LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
        assert_eq!(answer.context.get("sub").is_some(), verified, "{presented}");
    }
    let listed = Event::load("keys-list").user("alice");
    let (_, keys) = read(key_routes(app.read(), listed.request()).await.unwrap());

    let logs = captured.text();
    assert!(logs.contains("API key made"), "{logs}");
    assert_eq!(logs.matches("caller not verified").count(), 2, "{logs}");
    let secret_part = &key["epk_".len()..];
    for secret in [
        secret_part,
        &altered["epk_".len()..],
        "c2lnbmF0dXJlLW5ldmVyLWxvZ2dlZA",
    ] {
        assert!(
            !logs.contains(secret),
            "a key or token leaked into the logs:\n{logs}"
        );
    }
    assert!(
        !keys.to_string().contains(secret_part),
        "a list shows the key"
    );
    let mut table = std::fs::read(&path).unwrap();
    table.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    let holds = |text: &str| table.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        holds(issued["prefix"].as_str().unwrap()),
        "the table's bytes are searched"
    );
    assert!(!holds(secret_part), "the key is in the table");
}
