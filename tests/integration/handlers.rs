//! The real handlers, driven with the API Gateway v2 events of `events/`.

use std::sync::Arc;

use integration_tests::calls::{
    addresses, assert_error, check, create_as, list, listed_emails,
    race_twenty_creates_of_one_address, read, send, Route,
};
use integration_tests::events::Event;
use integration_tests::fakes::BrokenProvider;
use integration_tests::worlds::{SqliteWorld, World};
use provisioning::config::AuthMode;
use provisioning::domain::Username;
use provisioning::http::{create, MAX_BODY_BYTES};
use provisioning::providers::SandboxProvider;
use serde_json::{json, Value};

#[tokio::test]
async fn the_event_files_drive_the_handlers_as_written() {
    let world = SqliteWorld::new();
    let app = world.app();
    let (status, body) = send(&app, Route::Check, &Event::load("check-availability")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "available": true, "email": "support@example.com", "suggestions": [] })
    );

    let (status, body) = send(&app, Route::Create, &Event::load("create")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["display_name"], "Support Team");

    let (status, body) = send(&app, Route::List, &Event::load("my-accounts")).await;
    assert_eq!(status, 200);
    assert_eq!(body["accounts"][0]["email"], "support@example.com");

    let (status, body) = send(&app, Route::List, &Event::load("policy")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "domains": [
                {
                    "domain": "example.com", "provider": "sandbox", "ready": true,
                    "reason": null, "failing_checks": null, "checked_at": null
                },
                {
                    "domain": "support.example.com", "provider": "sandbox", "ready": true,
                    "reason": null, "failing_checks": null, "checked_at": null
                }
            ],
            "providers": ["sandbox"],
            "provider_details": [{
                "name": "sandbox",
                "least_privilege": true,
                "note": null,
                "capacity": null,
                "guard_rails": { "enforced": true }
            }],
            "daily_create_limit": 10,
            "address_quarantine_days": 30,
            "guard_rails": {
                "daily_send_limit": null,
                "max_bounce_rate_percent": 5.0,
                "max_complaint_rate_percent": 0.1,
                "minimum_sends": 50,
                "window_days": 7,
                "owner_may_resume": false
            },
            "administrator": false
        })
    );

    let (status, body) = send(&app, Route::List, &Event::load("health")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    assert!(body["version"].is_string());

    let invalid = send(&app, Route::Check, &Event::load("check-invalid-username")).await;
    assert_error(&invalid, 422, "invalid_username");
    assert!(invalid.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains('+'));
    assert_error(
        &send(&app, Route::Create, &Event::load("create-malformed-json")).await,
        400,
        "malformed_json",
    );
    assert_error(
        &send(&app, Route::Create, &Event::load("create-without-identity")).await,
        401,
        "unauthorized",
    );

    let (status, body) = send(&app, Route::Manage, &Event::load("rotate-credentials")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["credentials"]["password"].is_string());
    for (event, expected) in [
        ("disable-account", "disabled"),
        ("enable-account", "active"),
    ] {
        let (status, body) = send(&app, Route::Manage, &Event::load(event)).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some(expected)),
            "{body}"
        );
    }

    let (status, body) = send(&app, Route::Manage, &Event::load("delete-account")).await;
    assert_eq!(
        (status, body["email"].as_str(), body["status"].as_str()),
        (200, Some("support@example.com"), Some("deleted")),
        "{body}"
    );
}

#[tokio::test]
async fn the_account_routes_answer_their_methods_and_nothing_else() {
    let app = SqliteWorld::new().app();
    let address = "support@example.com";
    let cases = [
        (Event::load("delete-account").method("GET"), 405, "DELETE"),
        (
            Event::load("rotate-credentials").method("DELETE"),
            405,
            "POST",
        ),
        (Event::load("disable-account").method("GET"), 405, "POST"),
        (
            Event::load("rotate-credentials").account_action(address, "suspend"),
            404,
            "",
        ),
        (
            Event::load("rotate-credentials").account_action(address, "disable/now"),
            404,
            "",
        ),
    ];
    for (event, status, allowed) in cases {
        let response = send(&app, Route::Manage, &event).await;
        if status == 405 {
            assert_error(&response, 405, "method_not_allowed");
            assert!(
                response.1["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(allowed),
                "{}",
                response.1
            );
        } else {
            assert_error(&response, 404, "route_not_found");
        }
    }
}

#[tokio::test]
async fn create_answers_the_contract_and_the_other_functions_see_it() {
    let world = SqliteWorld::new();
    let (check_fn, create_fn, list_fn) = (world.app(), world.app(), world.app());

    let (status, created) = create_as(
        &create_fn,
        "alice",
        json!({ "username": "  Contact ", "display_name": "  Contact   Desk " }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["email"], "contact@example.com");
    assert_eq!(created["display_name"], "Contact Desk");
    assert_eq!(created["provider"], "sandbox");
    assert_eq!(created["status"], "active");
    assert_eq!(
        created["credentials"]["smtp_server"],
        "smtp.sandbox.invalid"
    );
    assert_eq!(created["credentials"]["smtp_port"], 587);
    assert_eq!(created["credentials"]["username"], "contact@example.com");
    assert_eq!(created["credentials"]["authentication"], "password");
    let password = created["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(password.starts_with("sandbox-") && password.len() >= 28);
    assert_eq!(created["webmail"], Value::Null);
    assert_eq!(created["created_at"], "2026-11-25T09:00:00Z");

    let (status, seen) = check(&check_fn, "bob", "contact").await;
    assert_eq!(status, 200);
    assert_eq!(seen["available"], false);
    assert_eq!(seen["reason"], "taken");

    let (status, listed) = list(&list_fn, "alice", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!({ "accounts": [{
            "email": "contact@example.com",
            "display_name": "Contact Desk",
            "provider": "sandbox",
            "status": "active",
            "smtp_server": "smtp.sandbox.invalid",
            "smtp_port": 587,
            "smtp_username": "contact@example.com",
            "smtp_authentication": "password",
            "webmail": null,
            "created_at": "2026-11-25T09:00:00Z",
            "emails_sent_today": 0,
            "emails_sent_month": 0,
            "bounces_month": 0,
            "complaints_month": 0,
            "stats_updated_at": null,
            "stats_unavailable_reason": null,
            "guard_rails": { "enforced": true }
        }] })
    );
    assert!(
        !listed.to_string().contains(&password),
        "the list never shows the password"
    );
    assert_eq!(
        list(&list_fn, "bob", &[]).await.1,
        json!({ "accounts": [] }),
        "one user never sees another's accounts"
    );
}

#[tokio::test]
async fn a_taken_address_gets_free_valid_suggestions() {
    let world = SqliteWorld::new();
    let app = world.app();
    for name in ["support", "support-team", "support.example"] {
        assert_eq!(
            create_as(&app, "alice", json!({ "username": name }))
                .await
                .0,
            201
        );
    }

    let (status, body) = check(&app, "bob", "Support").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["available"].as_bool(), body["reason"].as_str()),
        (Some(false), Some("taken"))
    );
    let suggestions = addresses(&body["suggestions"]);
    assert_eq!(suggestions.len(), 5);
    assert!(!suggestions.contains(&"support-team@example.com".to_string()));
    for suggestion in &suggestions {
        let local = suggestion.strip_suffix("@example.com").unwrap();
        assert_eq!(Username::parse(local).unwrap().as_str(), local);
        let (_, again) = check(&app, "bob", local).await;
        assert_eq!(again["available"], true, "{suggestion} must be free");
    }

    let refused = create_as(&app, "bob", json!({ "username": "support" })).await;
    assert_error(&refused, 409, "address_taken");
    assert_eq!(addresses(&refused.1["error"]["suggestions"]), suggestions);
}

#[tokio::test]
async fn reserved_names_are_never_created() {
    let world = SqliteWorld::new();
    let app = world.app();
    for name in [
        "postmaster",
        "abuse",
        "ceo",
        "NoReply",
        "security",
        "payroll",
        "hr",
    ] {
        let (status, body) = check(&app, "alice", name).await;
        assert_eq!(status, 200);
        assert_eq!(body["reason"], "reserved", "{name}");
        // Nothing built on a reserved name is offered (no `security-team`).
        assert_eq!(body["suggestions"], json!([]), "{name}");
        let refused = create_as(&app, "alice", json!({ "username": name })).await;
        assert_error(&refused, 409, "address_reserved");
        assert_eq!(refused.1["error"]["suggestions"], json!([]), "{name}");
    }
    for wanted in ["info", "support", "sales", "contact"] {
        assert_eq!(
            check(&app, "alice", wanted).await.1["available"],
            true,
            "{wanted}"
        );
    }
}

#[tokio::test]
async fn invalid_input_is_422_with_the_rule() {
    let world = SqliteWorld::new();
    let app = world.app();
    let cases = [
        (json!({ "username": "" }), "invalid_username", "empty"),
        (
            json!({ "username": "a..b" }),
            "invalid_username",
            "two dots",
        ),
        (
            json!({ "username": "x".repeat(65) }),
            "invalid_username",
            "at most 64",
        ),
        (
            json!({ "username": "ok", "display_name": "Support\r\nBcc: all@example.com" }),
            "invalid_display_name",
            "line breaks",
        ),
        (
            json!({ "username": "ok", "display_name": "n".repeat(65) }),
            "invalid_display_name",
            "at most 64",
        ),
        (
            json!({ "username": "ok", "domain": "elsewhere.org" }),
            "domain_not_allowed",
            "elsewhere.org",
        ),
        (
            json!({ "username": "ok", "provider": "sendgrid" }),
            "provider_not_available",
            "sendgrid",
        ),
    ];
    for (body, code, rule) in cases {
        let response = create_as(&app, "alice", body.clone()).await;
        assert_error(&response, 422, code);
        let message = response.1["error"]["message"].as_str().unwrap();
        assert!(message.contains(rule), "{body}: {message}");
    }
    assert!(list(&app, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn malformed_requests_are_400_or_413_never_500() {
    let world = SqliteWorld::new();
    let app = world.app();
    let base = || Event::load("create").user("alice");
    let huge = format!("{{\"username\": \"{}\"}}", "a".repeat(MAX_BODY_BYTES));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(Event, u16, &str)> = vec![
        (base().body("{\"username\": "), 400, "malformed_json"),
        (base().body(""), 400, "malformed_json"),
        (base().body(&deep), 400, "malformed_json"),
        (base().body("[\"support\"]"), 400, "invalid_body"),
        (base().body("\"support\""), 400, "invalid_body"),
        (base().json(json!({ "username": 42 })), 400, "invalid_body"),
        (base().json(json!({})), 400, "invalid_body"),
        (
            base().json(json!({ "username": "ok", "displayName": "typo" })),
            400,
            "invalid_body",
        ),
        (
            base().header("content-type", "text/plain"),
            400,
            "invalid_content_type",
        ),
        (
            base().without_header("content-type"),
            400,
            "invalid_content_type",
        ),
        (base().body(&huge), 413, "payload_too_large"),
        (base().method("GET"), 405, "method_not_allowed"),
    ];
    for (event, status, code) in cases {
        let response = send(&app, Route::Create, &event).await;
        assert_error(&response, status, code);
    }
    let charset = base().header("content-type", "Application/JSON; charset=utf-8");
    assert_eq!(send(&app, Route::Create, &charset).await.0, 201);
}

#[tokio::test]
async fn identity_comes_only_from_verified_claims_unless_local_mode() {
    let world = SqliteWorld::new();
    let jwt = world.app();
    let local = world.app_with(Arc::new(SandboxProvider::default()), 10, AuthMode::Local);
    let with_header = || {
        Event::load("create")
            .anonymous()
            .header("x-user-id", "mallory")
    };

    assert_error(
        &send(&jwt, Route::Create, &with_header()).await,
        401,
        "unauthorized",
    );
    let anonymous_check = Event::load("check-availability").anonymous();
    assert_error(
        &send(&jwt, Route::Check, &anonymous_check).await,
        401,
        "unauthorized",
    );
    let anonymous_list = Event::load("my-accounts").anonymous();
    assert_error(
        &send(&jwt, Route::List, &anonymous_list).await,
        401,
        "unauthorized",
    );
    let anonymous_policy = Event::load("policy").anonymous();
    assert_error(
        &send(&jwt, Route::List, &anonymous_policy).await,
        401,
        "unauthorized",
    );
    let blank = Event::load("create").user(" ");
    assert_error(
        &send(&jwt, Route::Create, &blank).await,
        401,
        "unauthorized",
    );

    assert_eq!(send(&local, Route::Create, &with_header()).await.0, 201);
    assert_eq!(
        list(&jwt, "mallory", &[]).await.1["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // In local mode a verified claim still wins over the header.
    let both = Event::load("create")
        .user("alice")
        .header("x-user-id", "mallory")
        .json(json!({ "username": "sales" }));
    assert_eq!(send(&local, Route::Create, &both).await.0, 201);
    assert_eq!(
        list(&jwt, "alice", &[]).await.1["accounts"][0]["email"],
        "sales@example.com"
    );
}

#[tokio::test]
async fn the_daily_limit_answers_429_with_retry_after_until_utc_midnight() {
    let world = SqliteWorld::new();
    let app = world.app_with(Arc::new(SandboxProvider::default()), 2, AuthMode::Jwt);
    for name in ["one", "two"] {
        assert_eq!(
            create_as(&app, "alice", json!({ "username": name }))
                .await
                .0,
            201
        );
    }
    let event = Event::load("create")
        .user("alice")
        .json(json!({ "username": "three" }));
    let response = create(&app, event.request()).await.unwrap();
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_string();
    let refused = read(response);
    assert_error(&refused, 429, "rate_limited");
    assert_eq!(
        retry_after,
        (15 * 3600).to_string(),
        "09:00 UTC is 15 hours before midnight"
    );
    assert_eq!(
        create_as(&app, "bob", json!({ "username": "three" }))
            .await
            .0,
        201,
        "the limit is per user"
    );

    world.clock().advance(chrono::Duration::hours(15));
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "four" }))
            .await
            .0,
        201,
        "a new UTC day"
    );
}

#[tokio::test]
async fn a_provider_failure_leaves_nothing_behind() {
    let world = SqliteWorld::new();
    let rejecting = world.app_with(
        Arc::new(BrokenProvider::rejecting("sender domain is not verified")),
        1,
        AuthMode::Jwt,
    );
    let down = world.app_with(
        Arc::new(BrokenProvider::unavailable("connection timed out")),
        1,
        AuthMode::Jwt,
    );

    let refused = create_as(&rejecting, "alice", json!({ "username": "support" })).await;
    assert_error(&refused, 502, "provider_error");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sender domain is not verified"));
    assert_error(
        &create_as(&down, "alice", json!({ "username": "support" })).await,
        503,
        "provider_unavailable",
    );

    let healthy = world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt);
    assert_eq!(
        check(&healthy, "bob", "support").await.1["available"],
        true,
        "no claim is left"
    );
    assert!(list(&healthy, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        create_as(&healthy, "alice", json!({ "username": "support" }))
            .await
            .0,
        201,
        "the quota was refunded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_creates_of_one_address_give_one_201() {
    let world = Arc::new(SqliteWorld::new());
    race_twenty_creates_of_one_address(move || world.app()).await;
}

#[tokio::test]
async fn the_list_pages_with_an_opaque_cursor() {
    let world = SqliteWorld::new();
    let app = world.app();
    for name in ["e", "a", "d", "c", "b"] {
        assert_eq!(
            create_as(&app, "alice", json!({ "username": name }))
                .await
                .0,
            201
        );
    }
    let (_, first) = list(&app, "alice", &[("limit", "2")]).await;
    assert_eq!(first["accounts"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    assert!(!cursor.contains('@'), "the cursor is opaque");
    let (_, second) = list(&app, "alice", &[("limit", "2"), ("cursor", &cursor)]).await;
    let (_, third) = list(
        &app,
        "alice",
        &[
            ("limit", "2"),
            ("cursor", second["next_cursor"].as_str().unwrap()),
        ],
    )
    .await;
    let emails = listed_emails(&[&first, &second, &third]);
    assert_eq!(
        emails,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com"
        ]
    );
    assert!(third.get("next_cursor").is_none());

    for bad in [
        &[("limit", "0")][..],
        &[("limit", "101")],
        &[("limit", "ten")],
        &[("cursor", "not-a-cursor")],
    ] {
        assert_error(&list(&app, "alice", bad).await, 400, "invalid_query");
    }
}
