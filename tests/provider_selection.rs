//! A deployment configured from the environment offers its default
//! provider and the ones `EMAIL_PROVIDERS` lists; a request picks one by
//! name. SendGrid answers from a local fake here. Its own test binary: it
//! sets the process environment, which the provider settings fall back on.

use std::collections::HashMap;

use integration_tests::calls::{assert_error, create_as, send, Route};
use integration_tests::events::Event;
use provisioning::config::Config;
use provisioning::App;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN_KEY: &str = "SG.admin-key-from-the-environment";

/// A SendGrid fake that has authenticated `domain` and makes exactly
/// `keys` API keys.
async fn sendgrid_for(domain: &str, keys: u64) -> MockServer {
    let sendgrid = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{ "id": 1, "domain": domain, "valid": true }])),
        )
        .mount(&sendgrid)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "api_key": "SG.user-key", "api_key_id": "key-1", "name": "n", "scopes": ["mail.send"]
        })))
        .expect(keys)
        .mount(&sendgrid)
        .await;
    sendgrid
}

/// A deployment on SQLite in `dir`, configured by `vars`.
async fn deployment(dir: &tempfile::TempDir, vars: &[(&'static str, String)]) -> App {
    std::env::set_var("SENDGRID_API_KEY", ADMIN_KEY);
    let mut vars: HashMap<&str, String> = vars.iter().cloned().collect();
    let database = dir.path().join("store.sqlite3");
    vars.insert("DATABASE_PATH", database.display().to_string());
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    App::from_config(config).await.unwrap()
}

#[tokio::test]
async fn a_request_picks_an_offered_provider_by_name() {
    let sendgrid = sendgrid_for("example.com", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let app = deployment(
        &dir,
        &[
            ("EMAIL_PROVIDER", "sandbox".to_string()),
            ("EMAIL_PROVIDERS", "sendgrid".to_string()),
            ("SENDGRID_API_URL", sendgrid.uri()),
        ],
    )
    .await;

    let (status, created) = create_as(
        &app,
        "alice",
        json!({ "username": "support", "provider": "sendgrid" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["provider"], "sendgrid");
    assert_eq!(created["credentials"]["username"], "apikey");
    assert_eq!(created["credentials"]["password"], "SG.user-key");
    assert_eq!(created["credentials"]["authentication"], "password");

    let (status, default) = create_as(&app, "alice", json!({ "username": "sales" })).await;
    assert_eq!(
        (status, default["provider"].as_str()),
        (201, Some("sandbox"))
    );

    let refused = create_as(
        &app,
        "alice",
        json!({ "username": "invoices", "provider": "google" }),
    )
    .await;
    assert_error(&refused, 422, "provider_not_available");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sandbox, sendgrid"));
    assert!(!format!("{created}{default}{}", refused.1).contains(ADMIN_KEY));
}

#[tokio::test]
async fn a_domain_can_have_its_own_provider() {
    let sendgrid = sendgrid_for("support.example.com", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let app = deployment(
        &dir,
        &[
            ("EMAIL_PROVIDER", "sandbox".to_string()),
            (
                "EMAIL_DOMAINS",
                "example.com,support.example.com=sendgrid".to_string(),
            ),
            ("SENDGRID_API_URL", sendgrid.uri()),
        ],
    )
    .await;

    let on_support = json!({ "username": "help", "domain": "support.example.com" });
    let (status, created) = create_as(&app, "alice", on_support).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["email"].as_str(), created["provider"].as_str()),
        (Some("help@support.example.com"), Some("sendgrid"))
    );

    let (status, default) = create_as(&app, "alice", json!({ "username": "help" })).await;
    assert_eq!(
        (
            status,
            default["email"].as_str(),
            default["provider"].as_str()
        ),
        (201, Some("help@example.com"), Some("sandbox"))
    );

    // The policy route tells the panel just that, before any create.
    let (status, policy) = send(&app, Route::List, &Event::load("policy")).await;
    assert_eq!(status, 200, "{policy}");
    let domains: Vec<(&str, &str)> = policy["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap(),
                d["provider"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        domains,
        [
            ("example.com", "sandbox"),
            ("support.example.com", "sendgrid")
        ]
    );
    assert_eq!(policy["providers"], json!(["sandbox", "sendgrid"]));

    // Naming a provider still wins over the domain's.
    let named =
        json!({ "username": "desk", "domain": "support.example.com", "provider": "sandbox" });
    let (status, named) = create_as(&app, "alice", named).await;
    assert_eq!((status, named["provider"].as_str()), (201, Some("sandbox")));
}
