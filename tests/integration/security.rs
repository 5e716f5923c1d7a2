//! The defences of the outside security review, through the real handlers:
//! who may create (the groups claim), SendGrid for administrators only,
//! addresses the company directory already has, look-alikes, a replay that
//! never hands out a newer password, the daily rotation limit, display
//! names that cannot impersonate, and provider errors without resource
//! names. The store-backed ones run on SQLite and on DynamoDB.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::calls::{
    account_action_as, assert_error, check, check_body, create_as, delete_as, read, send, Route,
};
use integration_tests::events::Event;
use integration_tests::fakes::{BrokenProvider, NamedAs, SilentDirectory};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use lambda_http::{Body, Response};
use provisioning::config::AuthMode;
use provisioning::deadline;
use provisioning::domain::{EmailAddress, ProviderKind, Username};
use provisioning::http::{list_routes, manage_account};
use provisioning::providers::{CompanyDirectory, MailProvider, SandboxProvider};
use provisioning::service::{CompanyDirectories, Policy, ProviderOffer};
use provisioning::App;
use serde_json::{json, Value};

/// A function process of `world` with `provider`, the tests' policy as
/// `configure` leaves it, asking `company`.
fn app_under(
    world: &impl World,
    provider: Arc<dyn MailProvider>,
    configure: impl FnOnce(&mut Policy),
    company: CompanyDirectories,
) -> App {
    let mut policy = integration_tests::policy(10);
    configure(&mut policy);
    world
        .parts(provider)
        .app_under(policy, company, AuthMode::Jwt)
}

fn sandbox() -> Arc<dyn MailProvider> {
    Arc::new(SandboxProvider::default())
}

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).unwrap()
}

/// A create of `username` by `user`, whose verified token has `claims` beside `sub`.
fn create_event(user: &str, username: &str, claims: &[(&str, &str)]) -> Event {
    claims.iter().fold(
        Event::load("create")
            .user(user)
            .json(json!({ "username": username })),
        |event, (name, value)| event.claim(name, value),
    )
}

/// `GET /api/email/policy` by a caller whose token has `claims` beside `sub`.
async fn policy_of(app: &App, claims: &[(&str, &str)]) -> (u16, Value) {
    let event = claims.iter().fold(
        Event::load("policy").user("alice"),
        |event, (name, value)| event.claim(name, value),
    );
    read(list_routes(app.read(), event.request()).await.unwrap())
}

/// Alice rotates support@'s credentials: the whole response, headers included.
async fn rotate(app: &App) -> Response<Body> {
    let request = Event::load("rotate-credentials")
        .without_header("idempotency-key")
        .user("alice")
        .account_action("support@example.com", "rotate-credentials")
        .request();
    manage_account(app, request).await.unwrap()
}

fn milliseconds_from_now(ms: u64) -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_millis()).unwrap() + ms
}

#[tokio::test]
async fn who_may_create_is_read_from_the_verified_groups_claim() {
    let world = SqliteWorld::new();
    let staff_only = |policy: &mut Policy| policy.access.creator_groups = vec!["staff".into()];
    let app = app_under(&world, sandbox(), staff_only, CompanyDirectories::none());

    let refused = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_error(&refused, 403, "forbidden");
    let claims = world
        .store()
        .claims
        .claims(&[address("support@example.com")])
        .await;
    assert!(
        claims.unwrap().is_empty(),
        "a refused create claims nothing"
    );
    // API Gateway hands an array claim over as one string.
    let member = create_event("alice", "support", &[("cognito:groups", "[other staff]")]);
    assert_eq!(send(&app, Route::Create, &member).await.0, 201);
    // Only the verified claim counts, never a header, outside local mode.
    let header_only = create_event("bob", "sales", &[]).header("x-user-groups", "staff");
    assert_error(
        &send(&app, Route::Create, &header_only).await,
        403,
        "forbidden",
    );

    // Another issuer's claim, named by GROUPS_CLAIM; the default name no longer counts.
    let app = app_under(&world, sandbox(), staff_only, CompanyDirectories::none())
        .with_groups_claim("groups");
    let elsewhere = create_event("carol", "sales", &[("cognito:groups", "staff")]);
    assert_error(
        &send(&app, Route::Create, &elsewhere).await,
        403,
        "forbidden",
    );
    let named = create_event("carol", "sales", &[("groups", r#"["staff","it"]"#)]);
    assert_eq!(send(&app, Route::Create, &named).await.0, 201);

    // Locally, X-User-Groups (comma-separated) stands for the claim.
    let mut policy = integration_tests::policy(10);
    staff_only(&mut policy);
    let local =
        world
            .parts(sandbox())
            .app_under(policy, CompanyDirectories::none(), AuthMode::Local);
    let as_local = |groups: &str, username: &str| {
        Event::load("create")
            .anonymous()
            .header("x-user-id", "dave")
            .header("x-user-groups", groups)
            .json(json!({ "username": username }))
    };
    assert_error(
        &send(&local, Route::Create, &as_local("ops", "contact")).await,
        403,
        "forbidden",
    );
    assert_eq!(
        send(&local, Route::Create, &as_local("ops, staff", "contact"))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn sendgrid_is_for_administrators_only_when_self_service_is_off() {
    let world = SqliteWorld::new();
    let sendgrid: Arc<dyn MailProvider> = Arc::new(NamedAs(
        ProviderKind::Sendgrid,
        Arc::new(SandboxProvider::default()),
    ));
    let configure = |self_service: bool| {
        move |policy: &mut Policy| {
            policy.providers = ProviderOffer::new(ProviderKind::Sendgrid, []);
            policy.access.admin_groups = vec!["email-admins".into()];
            policy.access.sendgrid_administrators_only = !self_service;
        }
    };
    let admin = [("cognito:groups", "[email-admins]")];

    // Self-service (the default): offered to everyone, and said to reach wide.
    let open = app_under(
        &world,
        Arc::clone(&sendgrid),
        configure(true),
        CompanyDirectories::none(),
    );
    let (_, policy) = policy_of(&open, &[]).await;
    assert_eq!(policy["providers"], json!(["sendgrid"]));
    assert_eq!(policy["provider_details"][0]["least_privilege"], false);
    assert!(policy["provider_details"][0]["note"]
        .as_str()
        .is_some_and(|note| note.contains("any address of the domain")));

    let closed = app_under(
        &world,
        Arc::clone(&sendgrid),
        configure(false),
        CompanyDirectories::none(),
    );
    let (_, policy) = policy_of(&closed, &[]).await;
    assert_eq!(policy["providers"], json!([]), "{policy}");
    let (_, policy) = policy_of(&closed, &admin).await;
    assert_eq!(policy["providers"], json!(["sendgrid"]));
    let refused = send(
        &closed,
        Route::Create,
        &create_event("alice", "support", &[]),
    )
    .await;
    assert_error(&refused, 403, "forbidden");
    let claims = world
        .store()
        .claims
        .claims(&[address("support@example.com")])
        .await;
    assert!(claims.unwrap().is_empty());
    let by_admin = create_event("alice", "support", &admin);
    assert_eq!(send(&closed, Route::Create, &by_admin).await.0, 201);
}

async fn addresses_the_directory_has_are_never_offered_or_made(world: &impl World) {
    let existing = ["jane.doe", "sales", "sales-team", "sales.example"]
        .map(|name| Username::parse(name).unwrap());
    let directory = Arc::new(SandboxProvider::with_existing(existing));
    let company = || {
        let own: Arc<dyn CompanyDirectory> = directory.clone();
        CompanyDirectories::new(
            None,
            vec![(ProviderKind::Sandbox, own)],
            Duration::from_secs(2),
        )
    };
    let app = app_under(world, sandbox(), |_| {}, company());

    let (_, answer) = check(&app, "alice", "sales").await;
    assert_eq!(answer["available"], false);
    assert_eq!(answer["reason"], "exists");
    let offered = answer["suggestions"].as_array().unwrap();
    assert_eq!(offered.len(), 5, "{answer}");
    for held in ["sales-team@example.com", "sales.example@example.com"] {
        assert!(!offered.contains(&json!(held)), "{held} is offered");
    }
    for name in ["sales", "jane.doe", "Jane.Doe"] {
        let refused = create_as(&app, "alice", json!({ "username": name })).await;
        assert_error(&refused, 409, "address_taken");
        let suggested = refused.1["error"]["suggestions"]
            .as_array()
            .unwrap()
            .clone();
        assert!(!suggested.contains(&json!("sales-team@example.com")));
    }
    let claims = world
        .store()
        .claims
        .claims(&[
            address("sales@example.com"),
            address("jane.doe@example.com"),
        ])
        .await;
    assert!(claims.unwrap().is_empty(), "nothing was claimed");
    assert_eq!(check(&app, "alice", "support").await.1["available"], true);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn a_directory_that_never_answers_keeps_checks_fast_and_makes_nothing() {
    let world = SqliteWorld::new();
    let plain = world.app();
    assert_eq!(
        create_as(&plain, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    let silent = || {
        let silent: Arc<dyn CompanyDirectory> = Arc::new(SilentDirectory);
        CompanyDirectories::new(
            Some((ProviderKind::Google, silent)),
            Vec::new(),
            Duration::from_millis(200),
        )
    };
    let app = app_under(&world, sandbox(), |_| {}, silent());

    let started = Instant::now();
    let (_, free) = check(&app, "bob", "contact").await;
    let (_, taken) = check(&app, "bob", "support").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The store says free; the create asks the directory again, strictly.
    assert_eq!(free["available"], true);
    // What the directory could not vouch for is not offered.
    assert_eq!(taken["reason"], "taken");
    assert_eq!(taken["suggestions"], json!([]));

    // A create waits for the directory no longer than its invocation allows.
    let started = Instant::now();
    let refused = deadline::within(
        Some(milliseconds_from_now(4_000)),
        create_as(&app, "bob", json!({ "username": "contact" })),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_error(&refused, 503, "provider_unavailable");
    let claims = world
        .store()
        .claims
        .claims(&[address("contact@example.com")])
        .await;
    assert!(claims.unwrap().is_empty());
}

async fn look_alikes_of_reserved_and_taken_addresses_are_refused(world: &impl World) {
    let app = world.app();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    for lookalike in [
        "supp0rt", "suppport", "Supp0rt", "adm1n", "adrnin", "5ecurity",
    ] {
        let (_, answer) = check(&app, "bob", lookalike).await;
        assert_eq!(answer["reason"], "lookalike", "{lookalike}: {answer}");
        let refused = create_as(&app, "bob", json!({ "username": lookalike })).await;
        assert_error(&refused, 409, "address_lookalike");
    }
    let refused = create_as(&app, "bob", json!({ "username": "supp0rt" })).await;
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("support@example.com"));
    // Different names, and the same name on another domain, are fine.
    for fine in ["support-team", "support1", "sup-port"] {
        assert_eq!(
            check(&app, "bob", fine).await.1["available"],
            true,
            "{fine}"
        );
    }
    let other_domain = json!({ "username": "supp0rt", "domain": "support.example.com" });
    assert_eq!(
        check_body(&app, "bob", other_domain).await.1["available"],
        true
    );

    // Once the address is deleted and its quarantine over, nothing is passed for.
    assert_eq!(delete_as(&app, "alice", "support@example.com").await.0, 200);
    assert_eq!(check(&app, "bob", "supp0rt").await.1["reason"], "lookalike");
    world.clock().advance(chrono::Duration::days(31));
    assert_eq!(check(&app, "bob", "supp0rt").await.1["available"], true);
}

async fn a_replay_never_hands_out_a_newer_password(world: &impl World) {
    let app = world.app();
    let create_once = || {
        let event = Event::load("create")
            .user("alice")
            .header("idempotency-key", "create-1")
            .json(json!({ "username": "support" }));
        let app = &app;
        async move { send(app, Route::Create, &event).await }
    };
    let (status, first) = create_once().await;
    assert_eq!(status, 201);
    let created_password = first["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(create_once().await.1, first, "a replay before any rotation");

    let rotate = |key: Option<&'static str>| {
        let app = &app;
        async move {
            account_action_as(
                app,
                "alice",
                "support@example.com",
                "rotate-credentials",
                key,
            )
            .await
        }
    };
    let (status, rotated) = rotate(Some("rotate-1")).await;
    assert_eq!(status, 200);
    let rotated_password = rotated["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();

    let replayed = create_once().await;
    assert_error(&replayed, 409, "credentials_rotated");
    let text = replayed.1.to_string();
    assert!(!text.contains("password"), "{text}");
    assert!(!text.contains(&created_password) && !text.contains(&rotated_password));

    // The rotation's own replay answers while its password is the current one...
    assert_eq!(rotate(Some("rotate-1")).await.1, rotated);
    // ...and no longer once another rotation replaced it.
    assert_eq!(rotate(None).await.0, 200);
    let replayed = rotate(Some("rotate-1")).await;
    assert_error(&replayed, 409, "credentials_rotated");
    assert!(!replayed.1.to_string().contains(&rotated_password));
}

async fn rotations_per_day_are_limited_and_a_failed_one_is_given_back(world: &impl World) {
    let shared = Arc::new(SandboxProvider::default());
    let two_a_day = |policy: &mut Policy| policy.daily_rotation_limit = 2;
    let app = app_under(world, shared.clone(), two_a_day, CompanyDirectories::none());
    let refusing = app_under(
        world,
        Arc::new(BrokenProvider::creating(shared)),
        two_a_day,
        CompanyDirectories::none(),
    );
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    assert_eq!(
        rotate(&refusing).await.status(),
        502,
        "the provider refused"
    );
    for _ in 0..2 {
        assert_eq!(
            rotate(&app).await.status(),
            200,
            "the refused one was given back"
        );
    }
    let limited = rotate(&app).await;
    let retry_after: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let limited = read(limited);
    assert_error(&limited, 429, "rate_limited");
    assert!(limited.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("rotations"));
    // The limit is the caller's: another user's rotations are not counted against it.
    assert_eq!(
        create_as(&app, "bob", json!({ "username": "sales" }))
            .await
            .0,
        201
    );
    let bob = account_action_as(&app, "bob", "sales@example.com", "rotate-credentials", None).await;
    assert_eq!(bob.0, 200);
    world.clock().advance(chrono::Duration::days(1));
    assert_eq!(rotate(&app).await.status(), 200, "a new UTC day");
}

#[tokio::test]
async fn display_names_that_could_impersonate_are_refused_with_the_reason() {
    let world = SqliteWorld::new();
    let app = world.app();
    for (name, says) in [
        ("P\u{0430}ypal Support", "one script"),
        ("Support <ceo@example.com>", "email address"),
        ("Sup\u{3164}port", "invisible"),
        ("Sup\u{200D}port", "invisible"),
    ] {
        let refused = create_as(
            &app,
            "alice",
            json!({ "username": "support", "display_name": name }),
        )
        .await;
        assert_error(&refused, 422, "invalid_display_name");
        assert!(
            refused.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{name:?}: {}",
            refused.1
        );
    }
}

#[tokio::test]
async fn provider_errors_reach_callers_without_arns_or_account_ids() {
    let world = SqliteWorld::new();
    let said = "User: arn:aws:sts::123456789012:assumed-role/stack-CreateFunctionRole/create \
                is not authorized to perform: iam:CreateUser on resource: \
                arn:aws:iam::123456789012:user/email-provisioning/stack/support@example.com";
    let app = world.app_with(Arc::new(BrokenProvider::rejecting(said)), 10, AuthMode::Jwt);
    let refused = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_error(&refused, 502, "provider_error");
    let message = refused.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not authorized to perform: iam:CreateUser"),
        "{message}"
    );
    for leaked in ["arn:", "123456789012", "CreateFunctionRole"] {
        assert!(!message.contains(leaked), "{leaked} in {message}");
    }
}

fn body_has_no(value: &Value, needle: &str) -> bool {
    !value.to_string().contains(needle)
}

#[tokio::test]
async fn a_refused_lookalike_leaves_nothing_behind() {
    let world = SqliteWorld::new();
    let app = world.app();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "payroll-team" }))
            .await
            .0,
        201
    );
    let refused = create_as(&app, "bob", json!({ "username": "payro1l-team" })).await;
    assert_error(&refused, 409, "address_lookalike");
    assert!(body_has_no(&refused.1, "password"));
    let claims = world
        .store()
        .claims
        .claims(&[address("payro1l-team@example.com")])
        .await;
    assert!(claims.unwrap().is_empty());
    assert_eq!(world.kept_passwords().await, 0);
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        addresses_the_directory_has_are_never_offered_or_made,
        look_alikes_of_reserved_and_taken_addresses_are_refused,
        a_replay_never_hands_out_a_newer_password,
        rotations_per_day_are_limited_and_a_failed_one_is_given_back,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        addresses_the_directory_has_are_never_offered_or_made,
        look_alikes_of_reserved_and_taken_addresses_are_refused,
        a_replay_never_hands_out_a_newer_password,
        rotations_per_day_are_limited_and_a_failed_one_is_given_back,
    );
}
