//! API keys, on SQLite and on DynamoDB alike: a person makes, lists and
//! revokes theirs (the key shown once); a key acts as its owner within its
//! scopes and never makes keys or administers; revoked, expired and unknown
//! keys are 401; creates with a key count against the owner's daily limit;
//! administrators list and revoke anyone's keys. Keys arrive checked by
//! the Lambda authorizer (its context) or, locally, checked by the function.

use std::sync::Arc;

use chrono::Duration;
use integration_tests::calls::{admin_as, assert_error, create_as, send, Route, ADMINS};
use integration_tests::events::Event;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{policy, world_tests};
use provisioning::config::AuthMode;
use provisioning::providers::SandboxProvider;
use provisioning::service::CompanyDirectories;
use provisioning::App;
use serde_json::{json, Value};

/// A local run (keys checked by the function) with administrators and `limit` creates a day.
fn local_app(world: &impl World, limit: u32) -> App {
    let mut policy = policy(limit);
    policy.access.admin_groups = vec![ADMINS.into()];
    world.parts(Arc::new(SandboxProvider::default())).app_under(
        policy,
        CompanyDirectories::none(),
        AuthMode::Local,
    )
}

async fn make_key(app: &App, user: &str, scopes: &[&str]) -> (u16, Value) {
    let event = Event::load("keys-create")
        .anonymous()
        .header("x-user-id", user)
        .json(json!({ "name": "deploy pipeline", "scopes": scopes }));
    send(app, Route::Keys, &event).await
}

/// `event` sent with the key, and nothing else to say who calls.
fn with_key(event: Event, key: &str) -> Event {
    event
        .anonymous()
        .header("authorization", &format!("Bearer {key}"))
}

async fn a_person_makes_lists_and_revokes_keys(world: &impl World) {
    let app = local_app(world, 10);
    let (status, issued) = make_key(&app, "alice", &["list", "check"]).await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap();
    assert!(key.starts_with("epk_") && key.len() == 47, "{key}");
    assert_eq!(issued["scopes"], json!(["check", "list"]));
    assert!(key.starts_with(issued["prefix"].as_str().unwrap()));
    assert!(issued["expires_at"].is_string(), "{issued}");

    let listed = |user: &str| {
        let event = Event::load("keys-list")
            .anonymous()
            .header("x-user-id", user);
        let app = &app;
        async move { send(app, Route::Keys, &event).await }
    };
    let (status, mine) = listed("alice").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["keys"][0]["id"], issued["id"]);
    assert!(mine["keys"][0]["last_used_at"].is_null());
    assert!(
        !mine.to_string().contains(&key[4..]),
        "a list never shows the key"
    );
    assert_eq!(listed("bob").await.1["keys"], json!([]));

    // Used once, its use shows in the list.
    let used = with_key(Event::load("my-accounts"), key);
    assert_eq!(send(&app, Route::List, &used).await.0, 200);
    assert!(listed("alice").await.1["keys"][0]["last_used_at"].is_string());

    let id = issued["id"].as_str().unwrap();
    let revoke = |user: &str| {
        Event::load("keys-revoke")
            .anonymous()
            .header("x-user-id", user)
            .path(&format!("/api/keys/{id}"), json!({ "id": id }))
    };
    assert_error(
        &send(&app, Route::Keys, &revoke("bob")).await,
        404,
        "key_not_found",
    );
    let (status, revoked) = send(&app, Route::Keys, &revoke("alice")).await;
    assert_eq!(
        (status, revoked),
        (200, json!({ "id": id, "revoked": true }))
    );
    assert_error(
        &send(&app, Route::Keys, &revoke("alice")).await,
        404,
        "key_not_found",
    );
    assert_error(&send(&app, Route::List, &used).await, 401, "unauthorized");

    for (body, code) in [
        (json!({ "name": "x", "scopes": [] }), "invalid_key"),
        (json!({ "name": "x", "scopes": ["admin"] }), "invalid_key"),
        (json!({ "name": " ", "scopes": ["list"] }), "invalid_key"),
        (
            json!({ "name": "x", "scopes": ["list"], "expires_in_days": 366 }),
            "invalid_key",
        ),
    ] {
        let event = Event::load("keys-create")
            .anonymous()
            .header("x-user-id", "alice")
            .json(body);
        assert_error(&send(&app, Route::Keys, &event).await, 422, code);
    }
}

/// A key does what its scopes allow, as its owner, and nothing else: no
/// other route, no keys, no administration (even an administrator's key).
async fn a_key_acts_as_its_owner_within_its_scopes(world: &impl World) {
    let app = local_app(world, 10);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let admin_key = {
        let event = Event::load("keys-create")
            .anonymous()
            .header("x-user-id", "root")
            .header("x-user-groups", ADMINS)
            .json(json!({ "name": "root's", "scopes": ["check", "create", "list", "manage"] }));
        send(&app, Route::Keys, &event).await.1["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (_, issued) = make_key(&app, "alice", &["check", "list"]).await;
    let key = issued["key"].as_str().unwrap();

    let checked =
        with_key(Event::load("check-availability"), key).json(json!({ "username": "sales" }));
    assert_eq!(send(&app, Route::Check, &checked).await.0, 200);
    let (status, listed) = send(
        &app,
        Route::List,
        &with_key(Event::load("my-accounts"), key),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["accounts"][0]["email"], "contact@example.com",
        "the owner's accounts"
    );

    let refused = [
        (
            Route::Create,
            with_key(Event::load("create"), key).json(json!({ "username": "sales" })),
        ),
        (
            Route::Manage,
            with_key(Event::load("rotate-credentials"), key)
                .without_header("idempotency-key")
                .account_action("contact@example.com", "disable"),
        ),
        (Route::Keys, with_key(Event::load("keys-create"), key)),
        (Route::Keys, with_key(Event::load("keys-list"), key)),
        (
            Route::Admin,
            with_key(Event::load("admin-accounts"), &admin_key),
        ),
        (
            Route::Keys,
            with_key(Event::load("keys-create"), &admin_key),
        ),
    ];
    for (route, event) in refused {
        assert_error(&send(&app, route, &event).await, 403, "insufficient_scope");
    }
    let created = send(
        &app,
        Route::Create,
        &with_key(Event::load("create"), &admin_key).json(json!({ "username": "ops" })),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);

    // In AWS the Lambda authorizer checked the key and hands over its context.
    let through_authorizer = |scopes: &str| {
        let mut event = Event::load("my-accounts");
        event.0["requestContext"]["authorizer"] = json!({ "lambda": {
            "sub": "alice", "key_id": issued["id"], "scopes": scopes
        } });
        event
    };
    let jwt_app = world.app();
    let (status, listed) = send(&jwt_app, Route::List, &through_authorizer("check,list")).await;
    assert_eq!(
        (status, listed["accounts"][0]["email"].clone()),
        (200, json!("contact@example.com"))
    );
    assert_error(
        &send(&jwt_app, Route::List, &through_authorizer("check")).await,
        403,
        "insufficient_scope",
    );
}

/// A route a key may call: the scope it needs, and its `n`th request.
type KeyRoute = (&'static str, Route, fn(usize) -> Event);

/// Every scope boundary: a key holding one scope, on every route a key
/// may call. Allowed exactly where the route's scope is the key's.
async fn each_scope_opens_its_routes_and_no_other(world: &impl World) {
    let app = local_app(world, 50);
    let routes: [KeyRoute; 8] = [
        ("check", Route::Check, |_| {
            Event::load("check-availability").json(json!({ "username": "sales" }))
        }),
        ("create", Route::Create, |n| {
            Event::load("create").json(json!({ "username": format!("made{n}") }))
        }),
        ("list", Route::List, |_| Event::load("my-accounts")),
        ("list", Route::List, |_| Event::load("policy")),
        ("manage", Route::Manage, |n| {
            Event::load("rotate-credentials")
                .header("idempotency-key", &format!("rotate-{n}-0123456789"))
                .account_action(&format!("box{n}@example.com"), "rotate-credentials")
        }),
        ("manage", Route::Manage, |n| {
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .account_action(&format!("box{n}@example.com"), "disable")
        }),
        ("manage", Route::Manage, |n| {
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .account_action(&format!("box{n}@example.com"), "enable")
        }),
        ("manage", Route::Manage, |n| {
            Event::load("delete-account").account(&format!("box{n}@example.com"))
        }),
    ];
    let mut n = 0;
    for scope in ["check", "create", "list", "manage"] {
        let (_, issued) = make_key(&app, "alice", &[scope]).await;
        let key = issued["key"].as_str().unwrap();
        for (needed, route, event) in &routes {
            n += 1;
            let made = create_as(&app, "alice", json!({ "username": format!("box{n}") })).await;
            assert_eq!(made.0, 201, "{}", made.1);
            let answer = send(&app, *route, &with_key(event(n), key)).await;
            if scope == *needed {
                assert!(
                    matches!(answer.0, 200 | 201),
                    "a {scope} key on a {needed} route: {answer:?}"
                );
            } else {
                assert_error(&answer, 403, "insufficient_scope");
            }
        }
    }
}

async fn revoked_expired_and_unknown_keys_are_401(world: &impl World) {
    let app = local_app(world, 10);
    let (_, issued) = make_key(&app, "alice", &["list"]).await;
    let key = issued["key"].as_str().unwrap();
    let listing = |key: &str| with_key(Event::load("my-accounts"), key);
    assert_eq!(send(&app, Route::List, &listing(key)).await.0, 200);
    for unknown in [
        "epk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "epk_short",
        "epk_",
    ] {
        assert_error(
            &send(&app, Route::List, &listing(unknown)).await,
            401,
            "unauthorized",
        );
    }
    // Past its 90 days (the default), on the injected clock.
    world.clock().advance(Duration::days(91));
    assert_error(
        &send(&app, Route::List, &listing(key)).await,
        401,
        "unauthorized",
    );
}

async fn creates_with_a_key_count_against_the_owners_limit(world: &impl World) {
    let app = local_app(world, 2);
    let (_, issued) = make_key(&app, "alice", &["create"]).await;
    let key = issued["key"].as_str().unwrap();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "one" }))
            .await
            .0,
        201
    );
    let with =
        |username: &str| with_key(Event::load("create"), key).json(json!({ "username": username }));
    assert_eq!(send(&app, Route::Create, &with("two")).await.0, 201);
    assert_error(
        &send(&app, Route::Create, &with("three")).await,
        429,
        "rate_limited",
    );
}

async fn administrators_list_and_revoke_anyones_keys(world: &impl World) {
    let app = local_app(world, 10);
    let (_, alices) = make_key(&app, "alice", &["list"]).await;
    make_key(&app, "bob", &["check"]).await;
    let (status, all) = admin_as(&app, "root", Event::load("admin-keys")).await;
    assert_eq!(status, 200, "{all}");
    let owners: Vec<&str> = all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["owner"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["alice", "bob"]);
    assert!(!all
        .to_string()
        .contains(&alices["key"].as_str().unwrap()[4..]));
    let id = alices["id"].as_str().unwrap();
    let revoke = Event::load("admin-keys")
        .method("DELETE")
        .path(&format!("/api/admin/keys/{id}"), json!({ "id": id }));
    let (status, revoked) = admin_as(&app, "root", revoke).await;
    assert_eq!((status, revoked["revoked"].clone()), (200, json!(true)));
    let used = with_key(Event::load("my-accounts"), alices["key"].as_str().unwrap());
    assert_error(&send(&app, Route::List, &used).await, 401, "unauthorized");
    assert_error(
        &send(&app, Route::Admin, &Event::load("admin-keys").user("alice")).await,
        403,
        "forbidden",
    );
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_person_makes_lists_and_revokes_keys,
        a_key_acts_as_its_owner_within_its_scopes,
        each_scope_opens_its_routes_and_no_other,
        revoked_expired_and_unknown_keys_are_401,
        creates_with_a_key_count_against_the_owners_limit,
        administrators_list_and_revoke_anyones_keys,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_person_makes_lists_and_revokes_keys,
        a_key_acts_as_its_owner_within_its_scopes,
        each_scope_opens_its_routes_and_no_other,
        revoked_expired_and_unknown_keys_are_401,
        creates_with_a_key_count_against_the_owners_limit,
        administrators_list_and_revoke_anyones_keys,
    );
}
