//! The end of an address's life (`DELETE /api/email/accounts/{email}`): gone
//! at the provider, its secret deleted, the address in quarantine, then free;
//! a provider that refuses leaves everything as it was; strangers get the
//! same 404 as for an address nobody has. On SQLite and on DynamoDB alike.

use std::sync::Arc;

use chrono::Duration;
use integration_tests::calls::{assert_error, check, create_as, delete_as, list, send, Route};
use integration_tests::events::Event;
use integration_tests::fakes::RefusesDeletes;
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use provisioning::clock::Clock;
use provisioning::config::AuthMode;
use provisioning::domain::UserId;
use provisioning::providers::SandboxProvider;
use provisioning::store::AuditAction;
use serde_json::json;

const ADDRESS: &str = "contact@example.com";

async fn actions_of(world: &impl World, user: &str) -> Vec<AuditAction> {
    let owner = UserId::parse(user).unwrap();
    let trail = world.store().audit_trail(&owner).await.unwrap();
    trail.into_iter().map(|entry| entry.action).collect()
}

async fn delete_removes_everything_then_the_quarantine_ends(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let created = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(
        (sandbox.provisioned().len(), world.secrets().await.len()),
        (1, 1)
    );

    // Later than the create: audit entries of one millisecond have no order.
    world.clock().advance(Duration::minutes(1));
    let (status, deleted) = delete_as(&app, "alice", ADDRESS).await;
    assert_eq!(
        (status, deleted["status"].as_str()),
        (200, Some("deleted")),
        "{deleted}"
    );
    let until = world.clock().now() + Duration::days(30);
    assert_eq!(
        deleted["available_again_at"].as_str(),
        Some(
            until
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str()
        )
    );
    assert!(list(&app, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        sandbox.provisioned().is_empty(),
        "the provider resource is gone"
    );
    assert!(world.secrets().await.is_empty(), "the secret is gone");
    assert_eq!(
        actions_of(world, "alice").await.last(),
        Some(&AuditAction::Deleted)
    );

    let (_, quarantined) = check(&app, "carol", "contact").await;
    assert_eq!(
        (
            quarantined["available"].as_bool(),
            quarantined["reason"].as_str()
        ),
        (Some(false), Some("quarantined"))
    );
    assert_error(
        &create_as(&app, "carol", json!({ "username": "contact" })).await,
        409,
        "address_taken",
    );
    assert_error(
        &delete_as(&app, "alice", ADDRESS).await,
        404,
        "account_not_found",
    );

    world
        .clock()
        .advance(Duration::days(30) + Duration::seconds(1));
    assert_eq!(check(&app, "carol", "contact").await.1["available"], true);
    let again = create_as(&app, "carol", json!({ "username": "contact" })).await;
    assert_eq!(again.0, 201, "{}", again.1);
    assert_eq!(sandbox.provisioned().len(), 1);
}

async fn strangers_and_unknown_addresses_get_the_same_404(world: &impl World) {
    let app = world.app();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let strangers = delete_as(&app, "bob", ADDRESS).await;
    let nobodys = delete_as(&app, "bob", "nobody@example.com").await;
    let malformed = delete_as(&app, "bob", "not an address").await;
    for response in [&strangers, &nobodys, &malformed] {
        assert_error(response, 404, "account_not_found");
    }
    let wording = |response: &(u16, serde_json::Value), address: &str| {
        let message = response.1["error"]["message"].as_str().unwrap();
        message.replace(address, "ADDRESS")
    };
    assert_eq!(
        wording(&strangers, ADDRESS),
        wording(&nobodys, "nobody@example.com")
    );
    // Alice's account is untouched.
    assert_eq!(
        list(&app, "alice", &[]).await.1["accounts"][0]["status"],
        "active"
    );
}

async fn a_provider_that_refuses_leaves_the_account_as_it_was(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let refusing = Arc::new(RefusesDeletes(sandbox.clone()));
    let app = world.app_with(refusing, 10, AuthMode::Jwt);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );

    world.clock().advance(Duration::minutes(1));
    assert_error(
        &delete_as(&app, "alice", ADDRESS).await,
        502,
        "provider_error",
    );
    let listed = list(&app, "alice", &[]).await.1;
    assert_eq!(listed["accounts"][0]["email"], ADDRESS);
    assert_eq!(listed["accounts"][0]["status"], "active");
    assert_eq!(
        (sandbox.provisioned().len(), world.secrets().await.len()),
        (1, 1)
    );
    assert_eq!(check(&app, "bob", "contact").await.1["reason"], "taken");
    assert_eq!(
        actions_of(world, "alice").await.last(),
        Some(&AuditAction::DeleteFailed)
    );

    // The failed delete let go of the account: a working one goes through.
    let working = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    assert_eq!(delete_as(&working, "alice", ADDRESS).await.0, 200);
    assert!(sandbox.provisioned().is_empty());
}

async fn two_deletes_at_once_delete_once(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let first = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let second = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let (a, b) = tokio::join!(
        delete_as(&first, "alice", ADDRESS),
        delete_as(&second, "alice", ADDRESS)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 404] || statuses == [200, 409],
        "{statuses:?}: {} / {}",
        a.1,
        b.1
    );
    assert!(sandbox.provisioned().is_empty());
    assert!(world.secrets().await.is_empty());
    assert!(list(&app, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
}

async fn replaying_a_create_after_its_delete_is_410(world: &impl World) {
    let app = world.app();
    let create = Event::load("create")
        .user("alice")
        .json(json!({ "username": "contact" }))
        .header("idempotency-key", "k-replay-after-delete");
    let first = send(&app, Route::Create, &create).await;
    assert_eq!(first.0, 201, "{}", first.1);
    world.clock().advance(Duration::minutes(1));
    assert_eq!(delete_as(&app, "alice", ADDRESS).await.0, 200);

    let replay = send(&app, Route::Create, &create).await;
    assert_error(&replay, 410, "account_deleted");
    assert!(!replay.1.to_string().contains("sandbox-"), "no password");
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        delete_removes_everything_then_the_quarantine_ends,
        strangers_and_unknown_addresses_get_the_same_404,
        a_provider_that_refuses_leaves_the_account_as_it_was,
        two_deletes_at_once_delete_once,
        replaying_a_create_after_its_delete_is_410,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        delete_removes_everything_then_the_quarantine_ends,
        strangers_and_unknown_addresses_get_the_same_404,
        a_provider_that_refuses_leaves_the_account_as_it_was,
        two_deletes_at_once_delete_once,
        replaying_a_create_after_its_delete_is_410,
    );
}
