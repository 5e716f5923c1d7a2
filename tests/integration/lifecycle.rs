//! An address's life after its create, on SQLite and on DynamoDB alike:
//! new credentials (the old ones stop working), sending stopped and
//! restarted, and its end (`DELETE`): gone at the provider, its secret
//! deleted, the address in quarantine, then free. A provider that refuses
//! leaves everything as it was; strangers get the same 404 as for an
//! address nobody has; a rotation racing a delete ends consistent.

use std::sync::Arc;

use chrono::Duration;
use integration_tests::calls::{
    account_action_as, assert_error, check, create_as, delete_as, list, send, Route,
};
use integration_tests::events::Event;
use integration_tests::fakes::{BrokenProvider, Gate, ObservedProvider};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use provisioning::clock::Clock;
use provisioning::config::AuthMode;
use provisioning::domain::{EmailAddress, UserId};
use provisioning::providers::SandboxProvider;
use provisioning::store::AuditAction;
use serde_json::json;

const ADDRESS: &str = "contact@example.com";

async fn actions_of(world: &impl World, user: &str) -> Vec<AuditAction> {
    let owner = UserId::parse(user).unwrap();
    let trail = world.store().audit.audit_trail(&owner).await.unwrap();
    trail.into_iter().map(|entry| entry.action).collect()
}

async fn delete_removes_everything_then_the_quarantine_ends(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let created = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(sandbox.provisioned().len(), 1);
    assert_eq!(
        world.kept_passwords().await,
        0,
        "no key, no replay to serve"
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
    let refusing = Arc::new(BrokenProvider::creating(sandbox.clone()));
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
    assert_eq!(sandbox.provisioned().len(), 1);
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

fn password_of(answer: &serde_json::Value) -> String {
    answer["credentials"]["password"]
        .as_str()
        .expect("credentials with a password")
        .to_string()
}

fn contact() -> EmailAddress {
    EmailAddress::parse(ADDRESS).unwrap()
}

async fn rotation_issues_new_credentials_and_the_old_ones_stop_working(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let created = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(created.0, 201, "{}", created.1);
    let old = password_of(&created.1);
    assert!(sandbox.accepts(&contact(), &old));

    world.clock().advance(Duration::minutes(1));
    let key = Some("rotate-contact-1");
    let rotated = account_action_as(&app, "alice", ADDRESS, "rotate-credentials", key).await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    assert_eq!(rotated.1["email"], ADDRESS);
    assert_eq!(rotated.1["credentials"]["username"], ADDRESS);
    let new = password_of(&rotated.1);
    assert_ne!(new, old);
    assert!(
        !sandbox.accepts(&contact(), &old),
        "the old password is refused"
    );
    assert!(sandbox.accepts(&contact(), &new));
    assert_eq!(
        sandbox.provisioned().len(),
        1,
        "the old resource is revoked"
    );
    assert_eq!(
        world.kept_passwords().await,
        1,
        "sealed for the key's replays"
    );

    // The same key again: the same answer, unsealed, and nothing new at the provider.
    let replayed = account_action_as(&app, "alice", ADDRESS, "rotate-credentials", key).await;
    assert_eq!((replayed.0, password_of(&replayed.1)), (200, new.clone()));
    assert!(sandbox.accepts(&contact(), &new));
    assert_eq!(sandbox.provisioned().len(), 1);

    let listed = list(&app, "alice", &[]).await.1;
    assert_eq!(listed["accounts"][0]["status"], "active");
    assert!(
        !listed.to_string().contains(&new),
        "no password in the list"
    );
    assert_eq!(
        actions_of(world, "alice").await.last(),
        Some(&AuditAction::CredentialsRotated)
    );
}

async fn disable_stops_sending_and_enable_restarts_it(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let created = create_as(&app, "alice", json!({ "username": "contact" })).await;
    let password = password_of(&created.1);

    world.clock().advance(Duration::minutes(1));
    let disabled = account_action_as(&app, "alice", ADDRESS, "disable", None).await;
    assert_eq!(
        (disabled.0, disabled.1["status"].as_str()),
        (200, Some("disabled")),
        "{}",
        disabled.1
    );
    assert!(!sandbox.accepts(&contact(), &password));
    assert_eq!(
        list(&app, "alice", &[]).await.1["accounts"][0]["status"],
        "disabled"
    );
    assert_eq!(check(&app, "bob", "contact").await.1["reason"], "taken");
    assert_error(
        &account_action_as(&app, "alice", ADDRESS, "rotate-credentials", None).await,
        409,
        "account_disabled",
    );
    let audited = actions_of(world, "alice").await.len();
    let again = account_action_as(&app, "alice", ADDRESS, "disable", None).await;
    assert_eq!(
        (again.0, again.1["status"].as_str()),
        (200, Some("disabled"))
    );
    assert_eq!(
        actions_of(world, "alice").await.len(),
        audited,
        "a change with nothing to do is not audited"
    );

    world.clock().advance(Duration::minutes(1));
    let enabled = account_action_as(&app, "alice", ADDRESS, "enable", None).await;
    assert_eq!(
        (enabled.0, enabled.1["status"].as_str()),
        (200, Some("active")),
        "{}",
        enabled.1
    );
    assert!(
        sandbox.accepts(&contact(), &password),
        "the same password works again"
    );
    assert_eq!(
        list(&app, "alice", &[]).await.1["accounts"][0]["status"],
        "active"
    );
    let actions = actions_of(world, "alice").await;
    assert!(actions.contains(&AuditAction::Disabled), "{actions:?}");
    assert_eq!(actions.last(), Some(&AuditAction::Enabled));

    // A disabled account can be deleted.
    account_action_as(&app, "alice", ADDRESS, "disable", None).await;
    assert_eq!(delete_as(&app, "alice", ADDRESS).await.0, 200);
    assert!(sandbox.provisioned().is_empty());
}

async fn a_provider_that_refuses_a_change_leaves_the_account_as_it_was(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world.app_with(
        Arc::new(BrokenProvider::creating(sandbox.clone())),
        10,
        AuthMode::Jwt,
    );
    let created = create_as(&app, "alice", json!({ "username": "contact" })).await;
    let password = password_of(&created.1);

    for action in ["rotate-credentials", "disable"] {
        world.clock().advance(Duration::minutes(1));
        assert_error(
            &account_action_as(&app, "alice", ADDRESS, action, None).await,
            502,
            "provider_error",
        );
        assert!(sandbox.accepts(&contact(), &password), "after {action}");
        assert_eq!(
            list(&app, "alice", &[]).await.1["accounts"][0]["status"],
            "active"
        );
        assert_eq!(sandbox.provisioned().len(), 1);
    }
    let actions = actions_of(world, "alice").await;
    assert!(
        actions.ends_with(&[AuditAction::RotateFailed, AuditAction::DisableFailed]),
        "{actions:?}"
    );

    // The failed changes let go of the account: a working rotation goes through.
    let working = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let rotated = account_action_as(&working, "alice", ADDRESS, "rotate-credentials", None).await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    assert!(!sandbox.accepts(&contact(), &password));
}

async fn strangers_get_the_same_404_from_every_change(world: &impl World) {
    let app = world.app();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    for action in ["rotate-credentials", "disable", "enable"] {
        let strangers = account_action_as(&app, "bob", ADDRESS, action, None).await;
        let nobodys = account_action_as(&app, "bob", "nobody@example.com", action, None).await;
        assert_error(&strangers, 404, "account_not_found");
        assert_error(&nobodys, 404, "account_not_found");
        assert_eq!(
            strangers.1["error"]["message"]
                .as_str()
                .unwrap()
                .replace(ADDRESS, "A"),
            nobodys.1["error"]["message"]
                .as_str()
                .unwrap()
                .replace("nobody@example.com", "A"),
        );
    }
    assert_eq!(
        list(&app, "alice", &[]).await.1["accounts"][0]["status"],
        "active"
    );
}

/// A delete that arrives while a rotation holds the account is refused
/// (409), and goes through once the rotation is done: never a credential
/// left at the provider without its account.
async fn a_delete_during_a_rotation_waits_for_it(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let gate = Arc::new(Gate::default());
    let gated = world.app_with(
        Arc::new(ObservedProvider::gated_rotation(
            sandbox.clone(),
            gate.clone(),
        )),
        10,
        AuthMode::Jwt,
    );
    assert_eq!(
        create_as(&gated, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    world.clock().advance(Duration::minutes(1));

    let rotation = tokio::spawn(async move {
        account_action_as(&gated, "alice", ADDRESS, "rotate-credentials", None).await
    });
    gate.entered.notified().await;
    let other = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    assert_error(
        &delete_as(&other, "alice", ADDRESS).await,
        409,
        "request_in_progress",
    );
    gate.open.notify_one();
    let rotated = rotation.await.unwrap();
    assert_eq!(rotated.0, 200, "{}", rotated.1);

    assert_eq!(delete_as(&other, "alice", ADDRESS).await.0, 200);
    assert!(
        sandbox.provisioned().is_empty(),
        "old and new credentials are gone"
    );
}

/// Rotations and deletes of one address at once, each through its own
/// function process, many times over: whatever the interleaving, the end
/// is rotated-then-deleted or deleted, with nothing left behind.
async fn concurrent_rotate_and_delete_end_consistent(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    for round in 0..8 {
        let user = format!("user-{round}");
        let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
        let username = format!("race{round}");
        let created = create_as(&app, &user, json!({ "username": username })).await;
        assert_eq!(created.0, 201, "{}", created.1);
        let address = format!("{username}@example.com");
        let rotator = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
        let deleter = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
        let (rotated, deleted) = tokio::join!(
            account_action_as(&rotator, &user, &address, "rotate-credentials", None),
            delete_as(&deleter, &user, &address)
        );
        assert!([200, 404, 409].contains(&rotated.0), "{}", rotated.1);
        assert!([200, 409].contains(&deleted.0), "{}", deleted.1);
        if deleted.0 == 409 {
            // The rotation held the account: it finished, the delete may go now.
            assert_eq!(rotated.0, 200, "{}", rotated.1);
            assert_eq!(delete_as(&deleter, &user, &address).await.0, 200);
        }
        assert!(
            sandbox.provisioned().is_empty(),
            "round {round}: nothing left at the provider ({} / {}): {:?}",
            rotated.1,
            deleted.1,
            sandbox.provisioned()
        );
    }
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        delete_removes_everything_then_the_quarantine_ends,
        strangers_and_unknown_addresses_get_the_same_404,
        a_provider_that_refuses_leaves_the_account_as_it_was,
        two_deletes_at_once_delete_once,
        replaying_a_create_after_its_delete_is_410,
        rotation_issues_new_credentials_and_the_old_ones_stop_working,
        disable_stops_sending_and_enable_restarts_it,
        a_provider_that_refuses_a_change_leaves_the_account_as_it_was,
        strangers_get_the_same_404_from_every_change,
        a_delete_during_a_rotation_waits_for_it,
        concurrent_rotate_and_delete_end_consistent,
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
        rotation_issues_new_credentials_and_the_old_ones_stop_working,
        disable_stops_sending_and_enable_restarts_it,
        a_provider_that_refuses_a_change_leaves_the_account_as_it_was,
        strangers_get_the_same_404_from_every_change,
        a_delete_during_a_rotation_waits_for_it,
        concurrent_rotate_and_delete_end_consistent,
    );
}
