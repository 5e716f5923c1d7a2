//! The create flow's writes: one claim per address, the daily quota, takeovers, releases.

use chrono::Duration;
use provisioning::domain::{AccountStatus, ProviderKind};
use provisioning::service::CREATE_LEASE;
use provisioning::store::{ClaimState, Reservation, StoreError};

use super::{activation, address, create, listed, reservation, start, user, StoreHarness};

pub async fn a_claim_is_unique(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let first = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&first).await.unwrap();
    for owner in ["bob", "alice"] {
        let again = store
            .reservations
            .reserve(&reservation(owner, "support", start(), 10))
            .await;
        assert!(
            matches!(again, Err(StoreError::AddressTaken)),
            "{owner}: {again:?}"
        );
    }

    let claims = store
        .claims
        .claims(&[address("support"), address("sales")])
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].address, address("support"));
    assert_eq!(claims[0].owner, user("alice"));
    assert_eq!(claims[0].state, ClaimState::Pending);
    assert!(claims[0].holds_address_at(start()));

    store
        .reservations
        .activate(&first, &activation(&first))
        .await
        .unwrap();
    let claims = store.claims.claims(&[address("support")]).await.unwrap();
    assert_eq!(claims[0].state, ClaimState::Active);
    assert!(claims[0].holds_address_at(start() + Duration::days(365)));
    let late = reservation("bob", "support", start() + Duration::days(365), 10);
    assert!(matches!(
        store.reservations.reserve(&late).await,
        Err(StoreError::AddressTaken)
    ));
}

pub async fn an_expired_pending_claim_can_be_taken_over(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let stalled = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&stalled).await.unwrap();

    let too_early = reservation(
        "bob",
        "support",
        start() + CREATE_LEASE - Duration::seconds(1),
        10,
    );
    assert!(matches!(
        store.reservations.reserve(&too_early).await,
        Err(StoreError::AddressTaken)
    ));

    let after_lease = reservation(
        "bob",
        "support",
        start() + CREATE_LEASE + Duration::seconds(1),
        10,
    );
    let abandoned = store
        .reservations
        .reserve(&after_lease)
        .await
        .unwrap()
        .expect("the stalled reservation comes back");
    assert_eq!(
        (abandoned.owner.clone(), abandoned.token.clone()),
        (user("alice"), stalled.token.clone())
    );
    assert_eq!(abandoned.provider, ProviderKind::Sandbox);
    assert_eq!(abandoned.reserved_at, stalled.reserved_at);
    let lost = store
        .reservations
        .activate(&stalled, &activation(&stalled))
        .await;
    assert!(matches!(lost, Err(StoreError::ReservationLost)), "{lost:?}");

    let claims = store.claims.claims(&[address("support")]).await.unwrap();
    assert_eq!(claims[0].owner, user("bob"));
    assert!(
        listed(&store, "alice").await.is_empty(),
        "the stalled create is not listed"
    );
    assert_eq!(listed(&store, "bob").await, ["support@example.com"]);
}

pub async fn a_late_release_leaves_a_newer_reservation_alone(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let stalled = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&stalled).await.unwrap();
    let retry = reservation(
        "alice",
        "support",
        start() + CREATE_LEASE + Duration::seconds(1),
        10,
    );
    store.reservations.reserve(&retry).await.unwrap();

    // The stalled create finally gives up, after the retry took the address over.
    store
        .reservations
        .release(&stalled, "timed out", retry.reserved_at)
        .await
        .unwrap();
    let claims = store.claims.claims(&[address("support")]).await.unwrap();
    assert_eq!(claims.len(), 1, "the retry's claim survives");
    store
        .reservations
        .activate(&retry, &activation(&retry))
        .await
        .unwrap();
    let page = store
        .accounts
        .list_accounts(&user("alice"), 10, None)
        .await
        .unwrap();
    assert_eq!(page.accounts.len(), 1);
    assert_eq!(page.accounts[0].status, AccountStatus::Active);
}

pub async fn the_daily_quota_counts_per_user_and_day(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let limit = 3;
    let mut alices = Vec::new();
    for name in ["a1", "a2"] {
        let r = reservation("alice", name, start(), limit);
        store.reservations.reserve(&r).await.unwrap();
        alices.push(r);
    }
    create(&store, "bob", "taken").await;
    let refused = store
        .reservations
        .reserve(&reservation("alice", "taken", start(), limit))
        .await;
    assert!(
        matches!(refused, Err(StoreError::AddressTaken)),
        "{refused:?}"
    );
    // A refused address did not use up quota: a third create still fits.
    store
        .reservations
        .reserve(&reservation("alice", "a3", start(), limit))
        .await
        .unwrap();

    let over = store
        .reservations
        .reserve(&reservation("alice", "a4", start(), limit))
        .await;
    assert!(matches!(over, Err(StoreError::QuotaExceeded)), "{over:?}");
    let claims = store.claims.claims(&[address("a4")]).await.unwrap();
    assert!(claims.is_empty(), "a refused reservation claims nothing");
    store
        .reservations
        .reserve(&reservation("bob", "b1", start(), limit))
        .await
        .unwrap();

    store
        .reservations
        .release(&alices[0], "provider refused", start())
        .await
        .unwrap();
    store
        .reservations
        .reserve(&reservation("alice", "a4", start(), limit))
        .await
        .unwrap();
    let over = store
        .reservations
        .reserve(&reservation("alice", "a5", start(), limit))
        .await;
    assert!(matches!(over, Err(StoreError::QuotaExceeded)), "{over:?}");

    let tomorrow = start() + Duration::days(1);
    store
        .reservations
        .reserve(&reservation("alice", "a5", tomorrow, limit))
        .await
        .unwrap();
}

pub async fn a_release_frees_the_address_and_hides_the_account(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let failed = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&failed).await.unwrap();
    assert_eq!(
        listed(&store, "alice").await,
        ["support@example.com"],
        "pending is listed"
    );
    store
        .reservations
        .release(&failed, "provider refused: domain not verified", start())
        .await
        .unwrap();

    assert!(store
        .claims
        .claims(&[address("support")])
        .await
        .unwrap()
        .is_empty());
    assert!(listed(&store, "alice").await.is_empty());
    store
        .reservations
        .reserve(&reservation("bob", "support", start(), 10))
        .await
        .unwrap();
}

pub async fn twenty_concurrent_reservations_have_one_winner(harness: &dyn StoreHarness) {
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = harness.handle().await;
        tasks.push(tokio::spawn(async move {
            store
                .reservations
                .reserve(&reservation(&format!("user-{n}"), "support", start(), 10))
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::AddressTaken) => {}
            Err(other) => panic!("a losing reservation must be AddressTaken, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let claims = harness
        .handle()
        .await
        .claims
        .claims(&[address("support")])
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
}

pub async fn abandoned_reservations_are_found_and_seized_once(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let dead = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&dead).await.unwrap();
    create(&store, "bob", "sales").await;
    let live = reservation("carol", "billing", start() + CREATE_LEASE, 10);
    store.reservations.reserve(&live).await.unwrap();

    let later = start() + CREATE_LEASE + Duration::seconds(1);
    assert!(
        store
            .reservations
            .abandoned_reservations(start())
            .await
            .unwrap()
            .is_empty(),
        "nothing has expired yet"
    );
    let found = store
        .reservations
        .abandoned_reservations(later)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].address.clone(), found[0].token.clone()),
        (address("support"), dead.token.clone())
    );

    let seizer = |token: &str| Reservation {
        token: token.into(),
        lease_expires_at: later + CREATE_LEASE,
        ..found[0].clone()
    };
    assert!(store
        .reservations
        .seize(&found[0], &seizer("reconciler-1"), later)
        .await
        .unwrap());
    assert!(
        !store
            .reservations
            .seize(&found[0], &seizer("reconciler-2"), later)
            .await
            .unwrap(),
        "seized once"
    );
    assert!(
        store
            .reservations
            .abandoned_reservations(later)
            .await
            .unwrap()
            .is_empty(),
        "a seized claim has a fresh lease"
    );
    assert!(
        listed(&store, "alice").await.is_empty(),
        "the dead create's account is failed"
    );
    let taken = store
        .reservations
        .reserve(&reservation("dave", "support", later, 10))
        .await;
    assert!(
        matches!(taken, Err(StoreError::AddressTaken)),
        "held while it is cleaned up: {taken:?}"
    );

    store
        .reservations
        .release(&seizer("reconciler-1"), "abandoned", later)
        .await
        .unwrap();
    assert!(store
        .claims
        .claims(&[address("support")])
        .await
        .unwrap()
        .is_empty());
    // Alice's quota for that day was refunded: her limit of one fits again.
    store
        .reservations
        .reserve(&reservation("alice", "other", start(), 1))
        .await
        .unwrap();
}
