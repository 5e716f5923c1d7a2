//! No secret reaches a log line: every event of a create, at TRACE level,
//! is captured and searched for the password the 201 handed out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::calls::read;
use integration_tests::events::Event;
use integration_tests::{local_vault_beside, sqlite_at, Parts, TestClock};
use provisioning::config::AuthMode;
use provisioning::http::create;
use provisioning::providers::SandboxProvider;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

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

#[tokio::test]
async fn a_create_logs_no_password() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite3");
    let app = Parts {
        store: sqlite_at(&path),
        vault: local_vault_beside(&path),
        provider: Arc::new(SandboxProvider::default()),
        clock: Arc::new(TestClock::default()),
    }
    .app(10, AuthMode::Jwt);
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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request served"),
        "the capture saw the request log:\n{logs}"
    );
    assert!(logs.contains("\"status\":201"), "{logs}");
    let secret_part = password.trim_start_matches("sandbox-");
    assert!(
        !logs.contains(secret_part),
        "the password leaked into the logs:\n{logs}"
    );
}
