//! An account's changes: the hold, the outcomes, the rotation allowance.

use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::domain::{AccountStatus, ProviderKind, Suspension, SuspensionReason};
use provisioning::store::{
    AccountChange, AccountHold, AuditAction, ClaimState, DueLift, HoldRequest, NewCredentials,
    Operation, Store, StoreError,
};

use super::{address, create, start, user, StoreHarness};

pub async fn rotations_are_counted_per_user_and_day_and_given_back(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (alice, bob) = (user("alice"), user("bob"));
    for _ in 0..2 {
        store
            .changes
            .count_rotation(&alice, "2026-11-25", 2)
            .await
            .unwrap();
    }
    assert!(matches!(
        store.changes.count_rotation(&alice, "2026-11-25", 2).await,
        Err(StoreError::QuotaExceeded)
    ));
    store
        .changes
        .count_rotation(&bob, "2026-11-25", 2)
        .await
        .unwrap();
    store
        .changes
        .count_rotation(&alice, "2026-11-26", 2)
        .await
        .unwrap();
    store
        .changes
        .refund_rotation(&alice, "2026-11-25")
        .await
        .unwrap();
    store
        .changes
        .count_rotation(&alice, "2026-11-25", 2)
        .await
        .unwrap();
    assert!(store
        .changes
        .count_rotation(&alice, "2026-11-25", 2)
        .await
        .is_err());
    // Giving back what was never counted changes nothing.
    store
        .changes
        .refund_rotation(&bob, "2026-12-01")
        .await
        .unwrap();
    store
        .changes
        .count_rotation(&bob, "2026-12-01", 1)
        .await
        .unwrap();
    assert!(store
        .changes
        .count_rotation(&bob, "2026-12-01", 1)
        .await
        .is_err());
}

pub async fn a_rotation_counts_one_more_issue_of_the_credentials(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    let owned = store
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owned.credentials_version, 0);
    for version in 1..=2 {
        let at = start() + Duration::minutes(version);
        let request = HoldRequest {
            owner: user("alice"),
            actor: user("alice"),
            address: address("support"),
            operation: Operation::RotateCredentials,
            request_id: format!("rotate-{version}"),
            token: format!("hold-{version}"),
            started_at: at,
            lease_expires_at: at + Duration::minutes(5),
        };
        store.changes.hold_account(&request).await.unwrap();
        let hold = AccountHold {
            request,
            provider: ProviderKind::Sandbox,
        };
        let change = AccountChange::CredentialsRotated(NewCredentials {
            smtp_username: "support@example.com".into(),
            provider_ref: format!("ref-{version}"),
        });
        store.changes.finish_change(&hold, &change).await.unwrap();
        let owned = harness
            .handle()
            .await
            .accounts
            .owned_account(&user("alice"), &address("support"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(i64::from(owned.credentials_version), version);
    }
}

pub async fn a_hold_keeps_other_changes_out_until_let_go_or_lapsed(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    let request = |token: &str, at: DateTime<Utc>, owner: &str| HoldRequest {
        owner: user(owner),
        actor: user(owner),
        address: address("support"),
        operation: Operation::Disable,
        request_id: format!("request-{token}"),
        token: token.into(),
        started_at: at,
        lease_expires_at: at + Duration::minutes(5),
    };
    let first = request("first", start(), "alice");
    let held = store.changes.hold_account(&first).await.unwrap();
    assert_eq!(held.account.address, address("support"));
    assert!(matches!(
        harness
            .handle()
            .await
            .changes
            .hold_account(&request("second", start(), "alice"))
            .await,
        Err(StoreError::AccountBusy)
    ));
    assert!(matches!(
        store
            .changes
            .hold_account(&request("stranger", start(), "bob"))
            .await,
        Err(StoreError::AccountNotFound)
    ));
    let first = AccountHold {
        request: first,
        provider: ProviderKind::Sandbox,
    };
    store.changes.release_hold(&first, None).await.unwrap();
    let second = request("second", start(), "alice");
    store.changes.hold_account(&second).await.unwrap();
    // A hold whose change died lapses with its lease.
    let lapsed = start() + Duration::minutes(6);
    let third = request("third", lapsed, "alice");
    store.changes.hold_account(&third).await.unwrap();
    let third = AccountHold {
        request: third,
        provider: ProviderKind::Sandbox,
    };
    // A change whose hold was taken over cannot finish.
    let second = AccountHold {
        request: second,
        provider: ProviderKind::Sandbox,
    };
    assert!(matches!(
        store
            .changes
            .finish_change(&second, &AccountChange::Disabled)
            .await,
        Err(StoreError::ReservationLost)
    ));
    let quarantine_until = lapsed + Duration::days(30);
    store
        .changes
        .finish_removal(&third, quarantine_until)
        .await
        .unwrap();
    assert!(store
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .is_none());
    let claims = store.claims.claims(&[address("support")]).await.unwrap();
    assert_eq!(claims[0].state, ClaimState::Quarantined);
    assert_eq!(claims[0].lease_expires_at, quarantine_until);
}

/// Holds alice's support@ for `operation` at `at`, as a change would.
async fn held(store: &Store, operation: Operation, at: DateTime<Utc>, token: &str) -> AccountHold {
    let request = HoldRequest {
        owner: user("alice"),
        actor: user("guard-rails"),
        address: address("support"),
        operation,
        request_id: format!("request-{token}"),
        token: token.into(),
        started_at: at,
        lease_expires_at: at + Duration::minutes(5),
    };
    store.changes.hold_account(&request).await.unwrap();
    AccountHold {
        request,
        provider: ProviderKind::Sandbox,
    }
}

/// Alice's support@, created, then suspended for `reason` a minute later.
async fn suspended_support(store: &Store, reason: SuspensionReason) -> Suspension {
    create(store, "alice", "support").await;
    let at = start() + Duration::minutes(1);
    let suspension = Suspension {
        reason,
        since: at,
        credentials_version: 0,
    };
    let hold = held(store, Operation::Suspend(reason), at, "suspend").await;
    store
        .changes
        .finish_change(&hold, &AccountChange::Suspended(suspension))
        .await
        .unwrap();
    suspension
}

pub async fn a_send_limit_suspension_is_due_to_lift_at_the_next_utc_midnight(
    harness: &dyn StoreHarness,
) {
    let store = harness.handle().await;
    let suspension = suspended_support(&store, SuspensionReason::SendLimit).await;
    let owned = harness
        .handle()
        .await
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .expect("a suspended account is still a created one");
    assert_eq!(owned.account.status, AccountStatus::Suspended);
    assert_eq!(owned.account.suspension, Some(suspension));

    let midnight = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
    assert!(store
        .changes
        .due_lifts(midnight - Duration::seconds(1))
        .await
        .unwrap()
        .is_empty());
    let due = store.changes.due_lifts(midnight).await.unwrap();
    assert_eq!(
        due,
        [DueLift {
            owner: user("alice"),
            address: address("support"),
            lifts_at: midnight,
        }]
    );

    let resumed_at = midnight + Duration::minutes(1);
    let hold = held(&store, Operation::Resume, resumed_at, "resume").await;
    let change = AccountChange::Resumed {
        lifted: suspension,
        counted_from: None,
    };
    store.changes.finish_change(&hold, &change).await.unwrap();
    let owned = store
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (owned.account.status, owned.account.suspension),
        (AccountStatus::Active, None)
    );
    assert_eq!(
        owned.rails_counted_from, None,
        "a lift by itself keeps the window"
    );
    assert!(
        store
            .changes
            .due_lifts(resumed_at)
            .await
            .unwrap()
            .is_empty(),
        "a resume forgets its lift"
    );
}

pub async fn a_rate_suspension_never_lifts_itself_and_a_resume_restarts_the_count(
    harness: &dyn StoreHarness,
) {
    let store = harness.handle().await;
    let suspension = suspended_support(&store, SuspensionReason::BounceRate).await;
    let at = suspension.since;
    assert!(store
        .changes
        .due_lifts(at + Duration::days(30))
        .await
        .unwrap()
        .is_empty());
    let tomorrow = (at + Duration::days(1)).date_naive();
    let hold = held(&store, Operation::Resume, at + Duration::hours(1), "resume").await;
    let change = AccountChange::Resumed {
        lifted: suspension,
        counted_from: Some(tomorrow),
    };
    store.changes.finish_change(&hold, &change).await.unwrap();
    let owned = harness
        .handle()
        .await
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owned.account.status, AccountStatus::Active);
    assert_eq!(owned.rails_counted_from, Some(tomorrow));
    let trail = store.audit.audit_trail(&user("alice")).await.unwrap();
    let actions: Vec<AuditAction> = trail.iter().map(|entry| entry.action).collect();
    assert!(actions.ends_with(&[
        AuditAction::Suspended(SuspensionReason::BounceRate),
        AuditAction::Resumed
    ]));
}
