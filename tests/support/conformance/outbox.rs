//! The outbox: each announced change waits there, written with its audit
//! entry, until published; a publisher leases what it reads.

use chrono::Duration;
use provisioning::store::AuditAction;

use super::{create, created_and_failed, start, StoreHarness};

pub async fn announced_changes_wait_until_published(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (created, _) = created_and_failed(&store).await;

    let now = start() + Duration::minutes(1);
    let lease = Duration::seconds(30);
    let waiting = store
        .outbox
        .lease_unpublished(10, now, now + lease)
        .await
        .unwrap();
    // The create's start and its failure are not announced: only the create.
    let announced: Vec<_> = waiting
        .iter()
        .map(|waiting| (waiting.entry.action, waiting.entry.address.to_string()))
        .collect();
    assert_eq!(
        announced,
        [(AuditAction::Created, "support@example.com".to_string())]
    );
    assert_eq!(waiting[0].entry.request_id, created.request_id);

    // Leased: another publisher does not get it until the lease lapses.
    let other = harness.handle().await;
    let during = other
        .outbox
        .lease_unpublished(10, now + Duration::seconds(10), now + lease * 2)
        .await
        .unwrap();
    assert!(during.is_empty(), "{during:?}");
    let after = now + lease + Duration::seconds(1);
    let again = other
        .outbox
        .lease_unpublished(10, after, after + lease)
        .await
        .unwrap();
    assert_eq!(again, waiting);

    store
        .outbox
        .published(&[waiting[0].position.clone()])
        .await
        .unwrap();
    let later = after + lease * 2;
    assert!(store
        .outbox
        .lease_unpublished(10, later, later + lease)
        .await
        .unwrap()
        .is_empty());
}

pub async fn two_publishers_never_lease_one_change(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    for name in ["a", "b", "c", "d", "e", "f"] {
        create(&store, "alice", name).await;
    }
    let now = start() + Duration::minutes(1);
    let (one, two) = (harness.handle().await, harness.handle().await);
    let (first, second) = tokio::join!(
        one.outbox
            .lease_unpublished(10, now, now + Duration::seconds(30)),
        two.outbox
            .lease_unpublished(10, now, now + Duration::seconds(30)),
    );
    let mut positions: Vec<String> = first
        .unwrap()
        .into_iter()
        .chain(second.unwrap())
        .map(|waiting| waiting.position)
        .collect();
    let leased = positions.len();
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), leased, "a change leased twice");
    assert_eq!(leased, 6, "every change leased by one of them");
}
