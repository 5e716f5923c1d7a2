//! A create happens once or not at all, on both stores: idempotent retries,
//! failures at every step undone, and 200 concurrent creates through a
//! provider that fails 30% of the time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use integration_tests::calls::{assert_error, check, create_as, create_with_key, list};
use integration_tests::fakes::{
    FailingActivation, FailingKeys, FailurePoint, Gate, ObservedProvider,
};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use provisioning::config::AuthMode;
use provisioning::domain::{EmailAddress, ProviderKind, UserId};
use provisioning::providers::SandboxProvider;
use provisioning::store::AuditAction;
use provisioning::App;
use serde_json::json;

const KEY: &str = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";

async fn an_idempotent_retry_replays_the_first_answer(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let provider = Arc::new(ObservedProvider::new(Arc::clone(&sandbox)));
    let app = world.app_with(provider.clone(), 10, AuthMode::Jwt);
    let body = json!({ "username": "support", "display_name": "Support" });

    let (status, first, replayed) = create_with_key(&app, "alice", body.clone(), KEY).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let other_process = world.app_with(provider.clone(), 10, AuthMode::Jwt);
    let same_meaning = json!({ "username": " SUPPORT ", "display_name": "  Support " });
    let (status, second, replayed) =
        create_with_key(&other_process, "alice", same_meaning, KEY).await;
    assert_eq!((status, replayed), (201, true), "{second}");
    assert_eq!(second, first, "the same answer, password included");
    assert_eq!(provider.provisions(), 1, "the provider was not asked again");

    let (status, refused, _) =
        create_with_key(&app, "alice", json!({ "username": "sales" }), KEY).await;
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");

    // Another user's identical key is another request.
    let (status, taken, _) = create_with_key(&app, "bob", body, KEY).await;
    assert_eq!(
        (status, taken["error"]["code"].as_str()),
        (409, Some("address_taken"))
    );

    let (status, bad, _) =
        create_with_key(&app, "alice", json!({ "username": "x" }), "not a key!").await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );

    world.clock().advance(chrono::Duration::hours(25));
    let (status, expired, _) = create_with_key(
        &app,
        "alice",
        json!({ "username": "support", "display_name": "Support" }),
        KEY,
    )
    .await;
    assert_eq!(
        (status, expired["error"]["code"].as_str()),
        (409, Some("address_taken")),
        "after 24 h the key is new again"
    );
}

async fn a_key_still_in_progress_is_409(world: &dyn World) {
    let gate = Arc::new(Gate::default());
    let provider = Arc::new(ObservedProvider::gated(
        Arc::new(SandboxProvider::default()),
        Arc::clone(&gate),
    ));
    let first_app = world.app_with(provider.clone(), 10, AuthMode::Jwt);
    let first = tokio::spawn(async move {
        create_with_key(&first_app, "alice", json!({ "username": "support" }), KEY).await
    });
    gate.entered.notified().await;

    let second_app = world.app_with(provider.clone(), 10, AuthMode::Jwt);
    let (status, body, _) =
        create_with_key(&second_app, "alice", json!({ "username": "support" }), KEY).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("request_in_progress"))
    );

    gate.open.notify_one();
    let (status, _, _) = first.await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(provider.provisions(), 1);
}

async fn a_failed_create_forgets_its_key(world: &dyn World) {
    let failing = Arc::new(ObservedProvider::flaky(
        Arc::new(SandboxProvider::default()),
        100,
    ));
    let down = world.app_with(failing, 10, AuthMode::Jwt);
    let (status, _, _) =
        create_with_key(&down, "alice", json!({ "username": "support" }), KEY).await;
    assert_eq!(status, 502);
    let (status, _, replayed) =
        create_with_key(&world.app(), "alice", json!({ "username": "support" }), KEY).await;
    assert_eq!((status, replayed), (201, false), "the retry ran for real");
}

async fn every_failure_point_leaves_nothing_behind(world: &dyn World) {
    let alice = UserId::parse("alice").unwrap();
    let mut attempts = 0;
    for point in [
        FailurePoint::Provision,
        FailurePoint::Seal,
        FailurePoint::Activate,
    ] {
        let sandbox = Arc::new(SandboxProvider::default());
        let provider = match point {
            FailurePoint::Provision => Arc::new(ObservedProvider::flaky(Arc::clone(&sandbox), 100)),
            _ => Arc::new(ObservedProvider::new(Arc::clone(&sandbox))),
        };
        let mut parts = world.parts(provider);
        match point {
            FailurePoint::Seal => parts.keys = Arc::new(FailingKeys(parts.keys)),
            FailurePoint::Activate => {
                parts.store.reservations =
                    Arc::new(FailingActivation(parts.store.reservations.clone()))
            }
            FailurePoint::Provision => {}
        }
        // A limit of one: the refund is what lets the next attempt run.
        // The key makes the create seal its password for replays.
        let app = parts.app(1, AuthMode::Jwt);
        let (status, body, _) =
            create_with_key(&app, "alice", json!({ "username": "support" }), KEY).await;
        attempts += 1;
        assert!(
            matches!(status, 500 | 502 | 503),
            "{point:?}: {status} {body}"
        );
        assert!(body["error"]["code"].is_string(), "{point:?}: {body}");

        assert!(
            sandbox.provisioned().is_empty(),
            "{point:?}: a provider resource was left"
        );
        assert_eq!(
            world.kept_passwords().await,
            0,
            "{point:?}: a sealed password was left"
        );
        let address = EmailAddress::parse("support@example.com").unwrap();
        assert!(
            world
                .store()
                .claims
                .claims(&[address])
                .await
                .unwrap()
                .is_empty(),
            "{point:?}: a claim was left"
        );
        let (_, listed) = list(&world.app(), "alice", &[]).await;
        assert_eq!(listed["accounts"], json!([]), "{point:?}");
    }

    let trail = world.store().audit.audit_trail(&alice).await.unwrap();
    let started = trail
        .iter()
        .filter(|e| e.action == AuditAction::CreateStarted)
        .count();
    let failed: Vec<_> = trail
        .iter()
        .filter(|e| e.action == AuditAction::CreateFailed)
        .collect();
    assert_eq!((started, failed.len()), (attempts, attempts), "{trail:#?}");
    assert!(failed
        .iter()
        .all(|e| e.error.as_deref().is_some_and(|m| !m.is_empty())));
    let (status, _) = create_as(
        &world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt),
        "alice",
        json!({ "username": "support" }),
    )
    .await;
    assert_eq!(status, 201, "every attempt's quota was refunded");
}

async fn rejections_are_audited_too(world: &dyn World) {
    let app = world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    // Time moves between requests, as it does in production.
    world.clock().advance(chrono::Duration::seconds(1));
    assert_error(
        &create_as(&app, "bob", json!({ "username": "support" })).await,
        409,
        "address_taken",
    );
    world.clock().advance(chrono::Duration::seconds(1));
    assert_error(
        &create_as(&app, "alice", json!({ "username": "sales" })).await,
        429,
        "rate_limited",
    );

    let store = world.store();
    let alice = store
        .audit
        .audit_trail(&UserId::parse("alice").unwrap())
        .await
        .unwrap();
    let summary: Vec<(&str, String, Option<String>)> = alice
        .iter()
        .map(|e| (e.action.as_str(), e.address.to_string(), e.error.clone()))
        .collect();
    assert_eq!(
        alice.iter().map(|e| e.at).collect::<Vec<_>>(),
        {
            let mut sorted: Vec<_> = alice.iter().map(|e| e.at).collect();
            sorted.sort();
            sorted
        },
        "oldest first: {alice:#?}"
    );
    assert_eq!(
        summary,
        [
            ("create_started", "support@example.com".to_string(), None),
            ("created", "support@example.com".to_string(), None),
            (
                "create_rejected",
                "sales@example.com".to_string(),
                Some("rate_limited".to_string())
            ),
        ]
    );
    let bob = store
        .audit
        .audit_trail(&UserId::parse("bob").unwrap())
        .await
        .unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!(
        (bob[0].action, bob[0].error.as_deref()),
        (AuditAction::CreateRejected, Some("address_taken"))
    );
    assert!(alice
        .iter()
        .chain(&bob)
        .all(|e| !e.request_id.is_empty() && e.provider == ProviderKind::Sandbox));
}

async fn two_hundred_creates_through_a_flaky_provider_stay_consistent(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let provider = Arc::new(ObservedProvider::flaky(Arc::clone(&sandbox), 30));
    let apps: Vec<Arc<App>> = (0..4)
        .map(|_| Arc::new(world.app_with(provider.clone(), 10, AuthMode::Jwt)))
        .collect();
    let mut tasks = Vec::new();
    for n in 0..200usize {
        let app = Arc::clone(&apps[n % apps.len()]);
        tasks.push(tokio::spawn(async move {
            let (user, username) = (format!("user-{}", n % 10), format!("addr{}", n % 20));
            let (status, body) = create_as(&app, &user, json!({ "username": username })).await;
            (user, username, status, body)
        }));
    }
    let mut winners: BTreeMap<String, String> = BTreeMap::new();
    for task in tasks {
        let (user, username, status, body) = task.await.unwrap();
        match status {
            201 => assert!(
                winners.insert(username.clone(), user).is_none(),
                "two 201s for {username}"
            ),
            409 | 429 | 502 => assert!(body["error"]["code"].is_string(), "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!winners.is_empty());

    let mut active: BTreeMap<String, String> = BTreeMap::new();
    for n in 0..10 {
        let user = format!("user-{n}");
        let (_, listed) = list(&world.app(), &user, &[("limit", "100")]).await;
        for account in listed["accounts"].as_array().unwrap() {
            assert_eq!(account["status"], "active", "{account}");
            let username = account["email"]
                .as_str()
                .unwrap()
                .trim_end_matches("@example.com")
                .to_string();
            assert!(
                active.insert(username, user.clone()).is_none(),
                "one active account per address"
            );
        }
    }
    assert_eq!(active, winners, "the table agrees with the 201s");
    // Sandbox refs are `sandbox:<address>#<n>`: one resource per address.
    let resources: Vec<String> = sandbox
        .provisioned()
        .into_iter()
        .map(|r| r.split('#').next().unwrap_or_default().to_string())
        .collect();
    let provisioned: BTreeSet<String> = resources.iter().cloned().collect();
    assert_eq!(
        provisioned.len(),
        resources.len(),
        "one resource per address: {resources:?}"
    );
    let expected: BTreeSet<String> = winners
        .keys()
        .map(|u| format!("sandbox:{u}@example.com"))
        .collect();
    assert_eq!(provisioned, expected, "the provider agrees with the 201s");
    assert_eq!(
        world.kept_passwords().await,
        0,
        "no password is kept where no replay can ask for it"
    );
    for username in winners.keys() {
        assert_eq!(
            check(&world.app(), "someone", username).await.1["reason"],
            "taken"
        );
    }
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        an_idempotent_retry_replays_the_first_answer,
        a_key_still_in_progress_is_409,
        a_failed_create_forgets_its_key,
        every_failure_point_leaves_nothing_behind,
        rejections_are_audited_too,
        two_hundred_creates_through_a_flaky_provider_stay_consistent,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        an_idempotent_retry_replays_the_first_answer,
        a_key_still_in_progress_is_409,
        a_failed_create_forgets_its_key,
        every_failure_point_leaves_nothing_behind,
        rejections_are_audited_too,
        two_hundred_creates_through_a_flaky_provider_stay_consistent,
    );
}
