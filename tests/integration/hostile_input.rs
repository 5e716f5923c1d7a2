//! Whatever arrives, the handlers (the administrators' routes too) answer
//! with a status below 500 and,
//! for a refusal, the documented error JSON: arbitrary bytes and JSON,
//! invalid UTF-8, deep nesting, huge strings, look-alike letters, CR/LF,
//! path traversal and SQL/NoSQL injection, under any method, content type
//! and identity.

use std::sync::Arc;

use integration_tests::calls::{send, Route, ADMINS};
use integration_tests::events::Event;
use integration_tests::policy;
use integration_tests::worlds::{SqliteWorld, World};
use proptest::prelude::*;
use provisioning::config::AuthMode;
use provisioning::providers::SandboxProvider;
use provisioning::service::CompanyDirectories;
use serde_json::{json, Value};

const HOSTILE: &[&str] = &[
    "../../etc/passwd",
    "..\\..\\windows\\system32",
    "'; DROP TABLE accounts; --",
    "\" OR 1=1 --",
    "{\"$gt\": \"\"}",
    "$where: '1 == 1'",
    "support\r\nBcc: everyone@example.com",
    "\u{202E}moc.elpmaxe",
    "ѕupport",
    "аdmin",
    "postmaster\u{200B}",
    "%00",
    "\u{0}",
    "support@example.com",
    "support+tag",
    "SUPPORT",
    "",
    "   ",
    "🙂",
    "a.b",
    "x..y",
];

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(HOSTILE).prop_map(str::to_string),
        any::<String>(),
        "[a-z0-9.+_-]{0,80}",
        (1usize..40_000).prop_map(|n| "a".repeat(n)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(hostile_text(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    Text(String),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(Body::Bytes),
        json_value().prop_map(|v| Body::Text(v.to_string())),
        (
            hostile_text(),
            prop::option::of(hostile_text()),
            prop::option::of(hostile_text())
        )
            .prop_map(|(username, display_name, domain)| {
                Body::Text(
                    json!({ "username": username, "display_name": display_name, "domain": domain })
                        .to_string(),
                )
            }),
        (1usize..3000).prop_map(|depth| Body::Text(format!(
            "{}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        ))),
        (1usize..3000).prop_map(|depth| Body::Text(format!(
            "{}1{}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        ))),
        hostile_text().prop_map(Body::Text),
    ]
}

/// A route, the event it is loaded from, and the method it serves.
fn route() -> impl Strategy<Value = (Route, &'static str, &'static str)> {
    prop::sample::select(vec![
        (Route::Check, "check-availability", "POST"),
        (Route::Create, "create", "POST"),
        (Route::List, "my-accounts", "GET"),
        (Route::Admin, "admin-accounts", "GET"),
        (Route::Admin, "admin-audit", "GET"),
        (Route::Admin, "admin-report", "GET"),
        (Route::Admin, "admin-transfer", "POST"),
        (Route::Admin, "admin-offboard", "POST"),
    ])
}

fn is_deliverable(event: &Event) -> bool {
    let loud = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(|| event.try_request().is_some());
    std::panic::set_hook(loud);
    built.unwrap_or(false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_input_gets_a_5xx_or_an_undocumented_answer(
        (route, event, own_method) in route(),
        body in body(),
        // Mostly the route's own method, a JSON content type and a signed-in
        // user, so most cases reach the parsers and the use cases.
        other_method in prop::option::weighted(0.2, prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])),
        content_type in prop::option::weighted(0.9, prop_oneof![
            6 => Just("application/json"),
            1 => prop::sample::select(vec![
                "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
                "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
            ]),
        ]),
        user in prop::option::weighted(0.9, prop_oneof![4 => Just("user-1".to_string()), 1 => hostile_text()]),
        groups in prop::option::weighted(0.7, prop_oneof![4 => Just(format!("[{ADMINS}]")), 1 => hostile_text()]),
        local_user in prop::option::of(hostile_text()),
        query in prop::collection::vec((prop::sample::select(vec![
            "limit", "cursor", "x", "owner", "domain", "provider", "status", "q", "address",
            "actor", "action", "from", "to", "group_by",
        ]), hostile_text()), 0..3),
        key in prop::option::of(hostile_text()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let world = SqliteWorld::new();
        // Answers in JSON: CSV is asked for by its own tests.
        let mut event = Event::load(event)
            .method(other_method.unwrap_or(own_method))
            .without_header("content-type")
            .without_header("accept");
        event = match &body {
            Body::Bytes(bytes) => event.bytes(bytes),
            Body::Text(text) => event.body(text),
        };
        if let Some(content_type) = content_type {
            event = event.header("content-type", content_type);
        }
        event = match &user {
            Some(sub) => event.user(sub),
            None => event.anonymous(),
        };
        if let (Some(_), Some(groups)) = (&user, &groups) {
            event = event.claim("cognito:groups", groups);
        }
        if let Some(header) = &local_user {
            event = event.header("x-user-id", header);
        }
        if let Some(key) = &key {
            event = event.header("idempotency-key", key);
        }
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let event = event.query(&pairs);
        // Some generated values cannot be an API Gateway event at all (a header
        // value with a line break): API Gateway would never deliver those, and
        // lambda_http panics turning them into a request, before any handler.
        if !is_deliverable(&event) {
            return Ok(());
        }
        let (status, answer) = runtime.block_on(async {
            let mut policy = policy(10);
            policy.access.admin_groups = vec![ADMINS.into()];
            let app = world
                .parts(Arc::new(SandboxProvider::default()))
                .app_under(policy, CompanyDirectories::none(), AuthMode::Jwt);
            send(&app, route, &event).await
        });
        prop_assert!(status < 500, "{status}: {answer}");
        if status >= 400 {
            let error = &answer["error"];
            prop_assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()), "{answer}");
            prop_assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
            prop_assert!(error["request_id"].is_string(), "{answer}");
        } else {
            prop_assert!(answer.is_object(), "{answer}");
        }
    }
}
