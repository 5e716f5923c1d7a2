//! Who holds which address, and the addresses that pass for one another.

use std::collections::BTreeSet;

use provisioning::domain::EmailAddress;
use provisioning::store::{ClaimState, Reservation};

use super::{address, create, reservation, start, StoreHarness};

pub async fn look_alikes_are_found_by_their_key_on_their_domain(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    let pending = reservation("bob", "suppport", start(), 10);
    store.reservations.reserve(&pending).await.unwrap();
    let elsewhere = Reservation {
        address: EmailAddress::parse("support@support.example.com").unwrap(),
        ..reservation("carol", "support", start(), 10)
    };
    store.reservations.reserve(&elsewhere).await.unwrap();
    create(&store, "dave", "sales").await;

    let lookalikes_of = |username: &str| {
        let store = store.clone();
        let address = address(username);
        async move {
            store
                .claims
                .lookalikes_of(&address)
                .await
                .unwrap()
                .into_iter()
                .map(|claim| {
                    let state = match claim.state {
                        ClaimState::Active => "active",
                        ClaimState::Pending => "pending",
                        ClaimState::Quarantined => "quarantined",
                    };
                    (claim.address.to_string(), state)
                })
                .collect::<BTreeSet<(String, &str)>>()
        }
    };
    assert_eq!(
        lookalikes_of("supp0rt").await,
        BTreeSet::from([
            ("support@example.com".to_string(), "active"),
            ("suppport@example.com".to_string(), "pending"),
        ])
    );
    // An address is not its own look-alike.
    assert_eq!(
        lookalikes_of("support").await,
        BTreeSet::from([("suppport@example.com".to_string(), "pending")])
    );
    assert!(lookalikes_of("contact").await.is_empty());
    assert!(harness
        .handle()
        .await
        .claims
        .lookalikes_of(&address("sales"))
        .await
        .unwrap()
        .is_empty());
}
