//! `Idempotency-Key` records.

use chrono::{DateTime, Duration, Utc};
use provisioning::domain::{IdempotencyKey, SealedPassword};
use provisioning::store::{
    IdempotencyRecord, IdempotencyStart, IdempotencyState, IdempotentAnswer,
};

use super::{start, user, StoreHarness};

pub async fn an_idempotency_key_is_started_once_until_done_or_dead(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let key = IdempotencyKey::parse("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
    let record = |at: DateTime<Utc>| IdempotencyRecord {
        request_hash: "hash-1".into(),
        state: IdempotencyState::InProgress,
        response: None,
        sealed_password: None,
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
        .complete_idempotent(
            &alice,
            &key,
            &IdempotentAnswer {
                response: r#"{"answer":1}"#.into(),
                sealed_password: Some(SealedPassword::new("sealed-1".into())),
                expires_at: record(start()).expires_at,
            },
        )
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
            assert_eq!(
                existing.sealed_password,
                Some(SealedPassword::new("sealed-1".into()))
            );
        }
        other => panic!("a completed key must replay: {other:?}"),
    }
    assert_eq!(
        store
            .idempotency
            .drop_expired_passwords(later)
            .await
            .unwrap(),
        0,
        "a password is kept while its record may replay"
    );
    let expired = start() + Duration::hours(25);
    for (sweep, dropped) in [(1, 1), (2, 0)] {
        assert_eq!(
            store
                .idempotency
                .drop_expired_passwords(expired)
                .await
                .unwrap(),
            dropped,
            "sweep {sweep} after the window"
        );
    }
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
