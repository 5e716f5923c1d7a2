//! A second factor before sensitive actions (`REQUIRE_MFA_FOR`), on SQLite
//! and on DynamoDB alike: each named route refuses a token whose `amr`
//! shows no second factor (403 `mfa_required`, telling the person to sign
//! in again) and does the work for one whose `amr` has `mfa` or a method
//! `MFA_AMR_VALUES` names; an API key never satisfies it; routes not named
//! stay open.

use std::sync::Arc;

use integration_tests::calls::{assert_error, create_as, send, Route, ADMINS};
use integration_tests::events::Event;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{policy, world_tests};
use provisioning::config::{AuthMode, MfaPolicy, SensitiveAction};
use provisioning::providers::SandboxProvider;
use provisioning::service::CompanyDirectories;
use provisioning::App;
use serde_json::{json, Value};

/// A deployment with administrators whose `REQUIRE_MFA_FOR` names
/// `actions`, where `hwk` (a hardware key) counts as a second factor too.
fn app_requiring(world: &impl World, actions: &[SensitiveAction], auth: AuthMode) -> App {
    let mut policy = policy(50);
    policy.access.admin_groups = vec![ADMINS.into()];
    world
        .parts(Arc::new(SandboxProvider::default()))
        .app_under(policy, CompanyDirectories::none(), auth)
        .with_mfa(MfaPolicy::new(actions.to_vec(), vec!["hwk".into()]))
}

/// The request for `action` by root (an administrator) on the `n`th of
/// root's addresses, made beforehand.
fn request_for(action: SensitiveAction, n: usize) -> (Route, Event) {
    let address = format!("box{n}@example.com");
    match action {
        SensitiveAction::Create => (
            Route::Create,
            Event::load("create").json(json!({ "username": format!("new{n}") })),
        ),
        SensitiveAction::Rotate => (
            Route::Manage,
            Event::load("rotate-credentials")
                .header("idempotency-key", &format!("rotate-{n}-0123456789"))
                .account_action(&address, "rotate-credentials"),
        ),
        SensitiveAction::Delete => (
            Route::Manage,
            Event::load("delete-account").account(&address),
        ),
        SensitiveAction::Admin => (Route::Admin, Event::load("admin-accounts")),
        SensitiveAction::Keys => (
            Route::Keys,
            Event::load("keys-create")
                .json(json!({ "name": format!("ci {n}"), "scopes": ["list"] })),
        ),
    }
}

/// Root, an administrator, as the verified token says, signed in by `amr`.
fn signed_in(event: Event, amr: Option<&str>) -> Event {
    let event = event
        .user("root")
        .claim("cognito:groups", &format!("[{ADMINS}]"));
    match amr {
        Some(amr) => event.claim("amr", amr),
        None => event,
    }
}

fn assert_mfa_required(answer: &(u16, Value), action: SensitiveAction) {
    assert_error(answer, 403, "mfa_required");
    let message = answer.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("second factor"), "{action:?}: {message}");
}

async fn every_named_route_needs_a_second_factor(world: &impl World) {
    let app = app_requiring(world, &SensitiveAction::ALL, AuthMode::Jwt);
    let open = world.app_with(Arc::new(SandboxProvider::default()), 50, AuthMode::Jwt);
    for n in 0..20 {
        let made = create_as(&open, "root", json!({ "username": format!("box{n}") })).await;
        assert_eq!(made.0, 201, "{}", made.1);
    }
    let mut n = 0;
    for action in SensitiveAction::ALL {
        for refused in [None, Some("[pwd]"), Some("[otp sms]")] {
            let (route, event) = request_for(action, n);
            n += 1;
            let answer = send(&app, route, &signed_in(event, refused)).await;
            assert_mfa_required(&answer, action);
            assert!(answer.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sign in again"));
        }
        for proven in ["[pwd mfa]", "[hwk]"] {
            let (route, event) = request_for(action, n);
            n += 1;
            let answer = send(&app, route, &signed_in(event, Some(proven))).await;
            assert!(
                matches!(answer.0, 200 | 201),
                "{action:?} with amr {proven}: {answer:?}"
            );
        }
    }
    // The refusals changed nothing: 3 creates and 3 deletes refused, 2 of
    // each done, so root still has 20 addresses.
    let (status, listed) = send(
        &app,
        Route::List,
        &Event::load("my-accounts")
            .user("root")
            .query(&[("limit", "100")]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["accounts"].as_array().unwrap().len(), 20, "{listed}");
}

/// Locally `X-User-Amr` stands for the claim; a key never satisfies the
/// requirement, whatever its scopes; actions not named need nothing.
async fn locally_by_header_never_by_key_and_only_where_named(world: &impl World) {
    let app = app_requiring(
        world,
        &[SensitiveAction::Create, SensitiveAction::Delete],
        AuthMode::Local,
    );
    let local = |event: Event, amr: Option<&str>| {
        let event = event.anonymous().header("x-user-id", "alice");
        match amr {
            Some(amr) => event.header("x-user-amr", amr),
            None => event,
        }
    };
    let create = |username: &str| Event::load("create").json(json!({ "username": username }));
    assert_mfa_required(
        &send(&app, Route::Create, &local(create("sales"), Some("pwd"))).await,
        SensitiveAction::Create,
    );
    let made = send(
        &app,
        Route::Create,
        &local(create("sales"), Some("pwd, mfa")),
    )
    .await;
    assert_eq!(made.0, 201, "{}", made.1);

    // Keys, rotation and disabling are not named: no second factor asked.
    let issued = send(
        &app,
        Route::Keys,
        &local(
            Event::load("keys-create").json(
                json!({ "name": "all of it", "scopes": ["check", "create", "list", "manage"] }),
            ),
            None,
        ),
    )
    .await;
    assert_eq!(issued.0, 201, "{}", issued.1);
    let rotated = send(
        &app,
        Route::Manage,
        &local(
            Event::load("rotate-credentials")
                .account_action("sales@example.com", "rotate-credentials"),
            None,
        ),
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);

    let key = issued.1["key"].as_str().unwrap();
    let with_key = |event: Event| {
        event
            .anonymous()
            .header("authorization", &format!("Bearer {key}"))
            .header("x-user-amr", "mfa")
    };
    for (route, event, action) in [
        (
            Route::Create,
            with_key(create("ops")),
            SensitiveAction::Create,
        ),
        (
            Route::Manage,
            with_key(Event::load("delete-account").account("sales@example.com")),
            SensitiveAction::Delete,
        ),
    ] {
        let answer = send(&app, route, &event).await;
        assert_mfa_required(&answer, action);
        assert!(answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key"));
    }
    let disabled = send(
        &app,
        Route::Manage,
        &with_key(
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .account_action("sales@example.com", "disable"),
        ),
    )
    .await;
    assert_eq!(disabled.0, 200, "{}", disabled.1);
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        every_named_route_needs_a_second_factor,
        locally_by_header_never_by_key_and_only_where_named,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        every_named_route_needs_a_second_factor,
        locally_by_header_never_by_key_and_only_where_named,
    );
}
