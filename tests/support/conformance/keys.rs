//! API keys, by their hash.

use chrono::Duration;
use provisioning::domain::{ApiKeySecret, KeyId, KeyName, KeyScopes};
use provisioning::store::{ApiKeyRecord, StoreError};

use super::{start, user, StoreHarness};

fn key(owner: &str, name: &str) -> (ApiKeySecret, ApiKeyRecord) {
    let secret = ApiKeySecret::generate().unwrap();
    let record = ApiKeyRecord {
        id: KeyId::generate().unwrap(),
        owner: user(owner),
        name: KeyName::parse(name).unwrap(),
        prefix: secret.visible_prefix(),
        hash: secret.hash(),
        scopes: KeyScopes::parse(["check", "list"]).unwrap(),
        created_at: start(),
        expires_at: Some(start() + Duration::days(30)),
        last_used_at: None,
    };
    (secret, record)
}

pub async fn keys_are_found_by_hash_listed_by_owner_and_revoked(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (alice_secret, alice_key) = key("alice", "deploy");
    let (_, alice_other) = key("alice", "backup");
    let (bob_secret, bob_key) = key("bob", "crm");
    for record in [&alice_key, &alice_other, &bob_key] {
        store.keys.add_key(record, 10).await.unwrap();
    }
    let other = harness.handle().await;
    assert_eq!(
        other.keys.key_by_hash(&alice_secret.hash()).await.unwrap(),
        Some(alice_key.clone())
    );
    let mut alices = vec![alice_key.clone(), alice_other.clone()];
    alices.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(
        other.keys.keys_of(Some(&user("alice"))).await.unwrap(),
        alices
    );
    let everyone = other.keys.keys_of(None).await.unwrap();
    assert_eq!(everyone.len(), 3);
    assert_eq!(everyone[2], bob_key);

    // Only its owner (or, with no owner named, an administrator) revokes a key.
    assert!(!other
        .keys
        .revoke_key(Some(&user("bob")), &alice_key.id)
        .await
        .unwrap());
    assert!(other
        .keys
        .revoke_key(Some(&user("alice")), &alice_key.id)
        .await
        .unwrap());
    assert!(!other
        .keys
        .revoke_key(Some(&user("alice")), &alice_key.id)
        .await
        .unwrap());
    assert_eq!(
        store.keys.key_by_hash(&alice_secret.hash()).await.unwrap(),
        None
    );
    assert!(other.keys.revoke_key(None, &bob_key.id).await.unwrap());
    assert_eq!(
        store.keys.key_by_hash(&bob_secret.hash()).await.unwrap(),
        None
    );
    assert_eq!(store.keys.keys_of(None).await.unwrap(), [alice_other]);
}

pub async fn an_owner_holds_at_most_the_limit(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (_, first) = key("alice", "one");
    let (_, second) = key("alice", "two");
    store.keys.add_key(&first, 2).await.unwrap();
    store.keys.add_key(&second, 2).await.unwrap();
    assert!(matches!(
        store.keys.add_key(&key("alice", "three").1, 2).await,
        Err(StoreError::QuotaExceeded)
    ));
    store.keys.add_key(&key("bob", "own").1, 2).await.unwrap();
    store
        .keys
        .revoke_key(Some(&user("alice")), &first.id)
        .await
        .unwrap();
    store
        .keys
        .add_key(&key("alice", "three").1, 2)
        .await
        .unwrap();
}

pub async fn a_keys_use_is_noted_to_the_minute(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (secret, record) = key("alice", "deploy");
    store.keys.add_key(&record, 10).await.unwrap();
    let last_used = |store: provisioning::store::Store| {
        let hash = secret.hash();
        async move {
            store
                .keys
                .key_by_hash(&hash)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
        }
    };
    let at = start() + Duration::hours(1);
    store.keys.key_used(&secret.hash(), at).await.unwrap();
    assert_eq!(last_used(store.clone()).await, Some(at));
    store
        .keys
        .key_used(&secret.hash(), at + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        last_used(store.clone()).await,
        Some(at),
        "not written again within the minute"
    );
    store
        .keys
        .key_used(&secret.hash(), at + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        last_used(store.clone()).await,
        Some(at + Duration::minutes(2))
    );
    // A revoked key's use notes nothing, and fails nothing.
    store.keys.revoke_key(None, &record.id).await.unwrap();
    store
        .keys
        .key_used(&secret.hash(), at + Duration::minutes(5))
        .await
        .unwrap();
}
