//! Created accounts as their owners see them: listed, paged, counted.

use std::collections::BTreeSet;

use provisioning::domain::{AccountStatus, EmailAddress, ProviderKind, SendStats};

use super::{activation, address, create, listed, reservation, start, user, StoreHarness};

pub async fn lists_are_isolated_between_users(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    create(&store, "alice", "contact").await;
    create(&store, "bob", "sales").await;
    assert_eq!(
        listed(&store, "alice").await,
        ["contact@example.com", "support@example.com"]
    );
    assert_eq!(listed(&store, "bob").await, ["sales@example.com"]);
    assert!(listed(&store, "carol").await.is_empty());
}

pub async fn pages_cover_every_account_once_in_order(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let names = ["g", "c", "e", "a", "f", "b", "d"];
    for name in names {
        create(&store, "alice", name).await;
    }
    create(&store, "bob", "bobs").await;

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<EmailAddress> = None;
    loop {
        let page = store
            .accounts
            .list_accounts(&user("alice"), 3, after.as_ref())
            .await
            .unwrap();
        sizes.push(page.accounts.len());
        seen.extend(page.accounts.iter().map(|a| a.address.to_string()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    let expected: Vec<String> = names
        .iter()
        .map(|n| address(n).to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(seen, expected);

    let whole = store
        .accounts
        .list_accounts(&user("alice"), 7, None)
        .await
        .unwrap();
    assert_eq!(whole.accounts.len(), 7);
    assert_eq!(whole.next_after, None);
}

pub async fn an_activated_account_is_listed_with_its_settings(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let pending = reservation("alice", "support", start(), 10);
    store.reservations.reserve(&pending).await.unwrap();
    let page = store
        .accounts
        .list_accounts(&user("alice"), 10, None)
        .await
        .unwrap();
    assert_eq!(page.accounts[0].status, AccountStatus::Pending);
    assert_eq!(page.accounts[0].smtp, None);

    let settings = activation(&pending);
    store
        .reservations
        .activate(&pending, &settings)
        .await
        .unwrap();
    let account = &store
        .accounts
        .list_accounts(&user("alice"), 10, None)
        .await
        .unwrap()
        .accounts[0];
    assert_eq!(account.owner, user("alice"));
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.smtp.as_ref(), Some(&settings.smtp));
    assert_eq!(account.webmail, settings.webmail);
    assert_eq!(account.display_name.as_str(), "Support");
    assert_eq!(account.provider, ProviderKind::Sandbox);
    assert_eq!(account.created_at, start());
    assert_eq!(account.stats, SendStats::default());
}

pub async fn created_accounts_are_counted_and_pending_ones_not(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    assert_eq!(
        store.accounts.count_created_accounts(None).await.unwrap(),
        0
    );
    create(&store, "alice", "support").await;
    create(&store, "bob", "sales").await;
    let pending = reservation("carol", "contact", start(), 10);
    store.reservations.reserve(&pending).await.unwrap();
    assert_eq!(
        store.accounts.count_created_accounts(None).await.unwrap(),
        2
    );
    let at = |kind| store.accounts.count_created_accounts(Some(kind));
    assert_eq!(at(ProviderKind::Sandbox).await.unwrap(), 2);
    assert_eq!(at(ProviderKind::Sendgrid).await.unwrap(), 0);
}
