//! `Idempotency-Key` records.

use chrono::{DateTime, Duration, Utc};
use provisioning::domain::IdempotencyKey;
use provisioning::store::{IdempotencyRecord, IdempotencyStart, IdempotencyState};

use super::{start, user, StoreHarness};

pub async fn an_idempotency_key_is_started_once_until_done_or_dead(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let key = IdempotencyKey::parse("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
    let record = |at: DateTime<Utc>| IdempotencyRecord {
        request_hash: "hash-1".into(),
        state: IdempotencyState::InProgress,
        response: None,
        expires_at: at + Duration::hours(24),
        in_progress_until: at + Duration::seconds(60),
    };
    let alice = user("alice");
    let started = store
        .idempotency
        .start_idempotent(&alice, &key, &record(start()), start())
        .await
        .unwrap();
    assert_eq!(started, IdempotencyStart::Started);
    match store
        .idempotency
        .start_idempotent(&alice, &key, &record(start()), start())
        .await
        .unwrap()
    {
        IdempotencyStart::Existing(existing) => {
            assert_eq!(existing.state, IdempotencyState::InProgress);
            assert_eq!(existing.request_hash, "hash-1");
            assert_eq!(existing.response, None);
        }
        other => panic!("a second start must see the first: {other:?}"),
    }
    let bob = user("bob");
    assert_eq!(
        store
            .idempotency
            .start_idempotent(&bob, &key, &record(start()), start())
            .await
            .unwrap(),
        IdempotencyStart::Started,
        "keys are per user"
    );

    store
        .idempotency
        .complete_idempotent(&alice, &key, r#"{"answer":1}"#)
        .await
        .unwrap();
    let later = start() + Duration::hours(1);
    match store
        .idempotency
        .start_idempotent(&alice, &key, &record(later), later)
        .await
        .unwrap()
    {
        IdempotencyStart::Existing(existing) => {
            assert_eq!(existing.state, IdempotencyState::Completed);
            assert_eq!(existing.response.as_deref(), Some(r#"{"answer":1}"#));
        }
        other => panic!("a completed key must replay: {other:?}"),
    }
    let expired = start() + Duration::hours(25);
    assert_eq!(
        store
            .idempotency
            .start_idempotent(&alice, &key, &record(expired), expired)
            .await
            .unwrap(),
        IdempotencyStart::Started,
        "an expired record no longer decides"
    );
    let dead = expired + Duration::seconds(61);
    assert_eq!(
        store
            .idempotency
            .start_idempotent(&alice, &key, &record(dead), dead)
            .await
            .unwrap(),
        IdempotencyStart::Started,
        "an in-progress record past its deadline belongs to a request that died"
    );
    store
        .idempotency
        .forget_idempotent(&alice, &key)
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency
            .start_idempotent(&alice, &key, &record(dead), dead)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
}
