//! A create that dies between its steps (its future dropped after the
//! provider call, or after its password was sealed) leaves a pending claim
//! with a lease. After the lease, a new create of the address clears what
//! it left and succeeds; the scheduled reconciler does the same on its own,
//! and finishes the undo of a create whose own undo failed.

use std::sync::Arc;

use integration_tests::calls::{check, create_as, create_with_key, list, reconcile};
use integration_tests::fakes::{
    BrokenProvider, DiesAfterProvisioning, DiesAfterSealing, FailingKeys,
};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use provisioning::clock::Clock;
use provisioning::config::AuthMode;
use provisioning::domain::{EmailAddress, UserId};
use provisioning::providers::SandboxProvider;
use provisioning::service::CREATE_LEASE;
use provisioning::store::AuditAction;
use provisioning::App;
use serde_json::json;
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug)]
enum Crash {
    AfterProvisioning,
    AfterSealing,
}

/// A create with a key seals its password for replays.
const KEY: &str = "5b0e3bb4-2f4a-4c39-9c5e-7d1f1b6f2a10";

/// Alice's create of support@ dies at `crash`; returns the sandbox it used.
async fn crash_a_create(world: &dyn World, crash: Crash) -> Arc<SandboxProvider> {
    let sandbox = Arc::new(SandboxProvider::default());
    let reached = Arc::new(Notify::new());
    let app = match crash {
        Crash::AfterProvisioning => world.app_with(
            Arc::new(DiesAfterProvisioning {
                inner: Arc::clone(&sandbox),
                provisioned: Arc::clone(&reached),
            }),
            1,
            AuthMode::Jwt,
        ),
        Crash::AfterSealing => {
            let mut parts = world.parts(sandbox.clone());
            parts.keys = Arc::new(DiesAfterSealing {
                inner: parts.keys,
                sealed: Arc::clone(&reached),
            });
            parts.app(1, AuthMode::Jwt)
        }
    };
    let create = tokio::spawn(async move {
        create_with_key(&app, "alice", json!({ "username": "support" }), KEY).await
    });
    reached.notified().await;
    create.abort();
    assert!(create.await.unwrap_err().is_cancelled());

    assert_eq!(
        sandbox.provisioned().len(),
        1,
        "{crash:?}: the provider made its resource"
    );
    let address = EmailAddress::parse("support@example.com").unwrap();
    let claims = world.store().claims.claims(&[address]).await.unwrap();
    assert_eq!(claims.len(), 1, "{crash:?}: the claim stays, pending");
    assert!(claims[0].holds_address_at(world.clock().now()));
    sandbox
}

/// The `reconcile` job: how many dead creates it recovered.
async fn run_reconcile(app: &App) -> u64 {
    reconcile(app).await["recovered"].as_u64().unwrap()
}

fn audited_abandonment(trail: &[provisioning::store::AuditEntry]) -> bool {
    trail.iter().any(|e| {
        e.action == AuditAction::CreateFailed
            && e.error
                .as_deref()
                .is_some_and(|m| m.starts_with("abandoned"))
    })
}

/// After the lease, Bob's create of the same address clears what Alice's
/// dead create left (through the same provider, found by address) and succeeds.
async fn a_later_create_clears_a_dead_one(world: &dyn World, crash: Crash) {
    let sandbox = crash_a_create(world, crash).await;
    let dead_resource = sandbox.provisioned();
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    let (status, body) = create_as(&app, "bob", json!({ "username": "support" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("address_taken")),
        "leased"
    );

    world
        .clock()
        .advance(CREATE_LEASE + chrono::Duration::seconds(1));
    let (status, created) = create_as(&app, "bob", json!({ "username": "support" })).await;
    assert_eq!(status, 201, "{created}");
    let now_there = sandbox.provisioned();
    assert_eq!(now_there.len(), 1, "one resource: {now_there:?}");
    assert!(
        now_there.is_disjoint(&dead_resource),
        "the dead create's resource is gone"
    );
    assert_eq!(world.kept_passwords().await, 0, "no password kept");
    assert_eq!(
        list(&app, "bob", &[]).await.1["accounts"][0]["status"],
        "active"
    );
    assert!(list(&app, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
    let trail = world
        .store()
        .audit
        .audit_trail(&UserId::parse("alice").unwrap())
        .await
        .unwrap();
    assert!(audited_abandonment(&trail), "{trail:#?}");
    // Alice's quota was refunded: with her limit of one she can create again.
    let (status, _) = create_as(
        &world.app_with(sandbox, 1, AuthMode::Jwt),
        "alice",
        json!({ "username": "again" }),
    )
    .await;
    assert_eq!(status, 201);
}

async fn a_later_create_clears_a_create_dead_after_provisioning(world: &dyn World) {
    a_later_create_clears_a_dead_one(world, Crash::AfterProvisioning).await;
}

async fn a_later_create_clears_a_create_dead_after_sealing(world: &dyn World) {
    a_later_create_clears_a_dead_one(world, Crash::AfterSealing).await;
}

async fn the_reconciler_clears_dead_creates(world: &dyn World) {
    let mut sandboxes = Vec::new();
    for crash in [Crash::AfterProvisioning, Crash::AfterSealing] {
        sandboxes.push(crash_a_create(world, crash).await);
        world.clock().advance(chrono::Duration::seconds(1));
        // Each crash point on its own address: clear this one before the next.
        let reconciler = world.app_with(sandboxes[sandboxes.len() - 1].clone(), 10, AuthMode::Jwt);
        assert_eq!(
            run_reconcile(&reconciler).await,
            0,
            "{crash:?}: not before its lease runs out"
        );

        world.clock().advance(CREATE_LEASE);
        assert_eq!(run_reconcile(&reconciler).await, 1, "{crash:?}");
        assert_eq!(run_reconcile(&reconciler).await, 0, "{crash:?}: once");

        let sandbox = &sandboxes[sandboxes.len() - 1];
        assert!(
            sandbox.provisioned().is_empty(),
            "{crash:?}: provider resource removed"
        );
        assert_eq!(
            world.kept_passwords().await,
            0,
            "{crash:?}: no sealed password"
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
            "{crash:?}: claim released"
        );
        assert_eq!(
            check(&reconciler, "bob", "support").await.1["available"],
            true,
            "{crash:?}"
        );
    }
    let trail = world
        .store()
        .audit
        .audit_trail(&UserId::parse("alice").unwrap())
        .await
        .unwrap();
    let abandoned = trail
        .iter()
        .filter(|e| {
            e.action == AuditAction::CreateFailed
                && e.error
                    .as_deref()
                    .is_some_and(|m| m.starts_with("abandoned"))
        })
        .count();
    assert_eq!(abandoned, 2, "{trail:#?}");
    // Both refunded: Alice's limit of one still lets her create today.
    let (status, _) = create_as(
        &world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt),
        "alice",
        json!({ "username": "fresh" }),
    )
    .await;
    assert_eq!(status, 201);
}

/// A create fails at the key service, and its undo at the provider fails too:
/// the reservation is not released over a resource still there, it stays
/// pending, and after its lease the reconciler removes what carries the
/// create's mark and frees the address.
async fn an_undo_that_fails_leaves_the_reservation_to_the_reconciler(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let mut parts = world.parts(Arc::new(BrokenProvider::creating(Arc::clone(&sandbox))));
    parts.keys = Arc::new(FailingKeys(parts.keys));
    let app = parts.app(1, AuthMode::Jwt);
    let (status, _, _) =
        create_with_key(&app, "alice", json!({ "username": "support" }), KEY).await;
    assert_eq!(status, 503, "the key service failed");
    assert_eq!(
        sandbox.provisioned().len(),
        1,
        "the provider refused its undo"
    );
    let address = EmailAddress::parse("support@example.com").unwrap();
    let claims = world
        .store()
        .claims
        .claims(std::slice::from_ref(&address))
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "not released over what is still made");
    assert!(claims[0].holds_address_at(world.clock().now()));

    world
        .clock()
        .advance(CREATE_LEASE + chrono::Duration::seconds(1));
    let reconciler = world.app_with(Arc::clone(&sandbox) as _, 10, AuthMode::Jwt);
    assert_eq!(run_reconcile(&reconciler).await, 1);
    assert!(sandbox.provisioned().is_empty(), "removed by its mark");
    assert!(world
        .store()
        .claims
        .claims(&[address])
        .await
        .unwrap()
        .is_empty());
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_later_create_clears_a_create_dead_after_provisioning,
        a_later_create_clears_a_create_dead_after_sealing,
        the_reconciler_clears_dead_creates,
        an_undo_that_fails_leaves_the_reservation_to_the_reconciler,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_later_create_clears_a_create_dead_after_provisioning,
        a_later_create_clears_a_create_dead_after_sealing,
        the_reconciler_clears_dead_creates,
        an_undo_that_fails_leaves_the_reservation_to_the_reconciler,
    );
}
