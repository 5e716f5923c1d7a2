//! What every store backend must do, role by role, whatever it stores into. A backend's
//! test file runs all of it with `store_conformance_tests!(harness)`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::domain::IdempotencyKey;
use provisioning::domain::{
    AccountStatus, DisplayName, EmailAddress, ProviderKind, SendCounts, SendEventKind, SendStats,
    SmtpAuthentication, SmtpSettings, UserId,
};
use provisioning::service::CREATE_LEASE;
use provisioning::store::{
    AccountChange, AccountHold, Activation, AuditAction, ClaimState, HoldRequest,
    IdempotencyRecord, IdempotencyStart, IdempotencyState, Operation, Reservation, SendEvent,
    SendEventOutcome, Store, StoreError,
};

/// A fresh, empty backing store; `handle` opens one more client on it, as
/// another function process would.
#[async_trait]
pub trait StoreHarness: Send + Sync {
    async fn handle(&self) -> Store;
}

#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::store_conformance_tests!(@cases $harness;
            a_claim_is_unique,
            an_expired_pending_claim_can_be_taken_over,
            a_late_release_leaves_a_newer_reservation_alone,
            lists_are_isolated_between_users,
            the_daily_quota_counts_per_user_and_day,
            pages_cover_every_account_once_in_order,
            a_release_frees_the_address_and_hides_the_account,
            an_activated_account_is_listed_with_its_settings,
            the_audit_trail_records_each_step,
            twenty_concurrent_reservations_have_one_winner,
            an_idempotency_key_is_started_once_until_done_or_dead,
            abandoned_reservations_are_found_and_seized_once,
            send_events_count_once_and_roll_over_by_period,
            concurrent_send_events_are_all_counted_once,
            created_accounts_are_counted_and_pending_ones_not,
            look_alikes_are_found_by_their_key_on_their_domain,
            rotations_are_counted_per_user_and_day_and_given_back,
            a_rotation_counts_one_more_issue_of_the_credentials
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness;
                $crate::conformance::$case(&harness).await;
            }
        )*
    };
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

pub fn address(username: &str) -> EmailAddress {
    EmailAddress::parse(&format!("{username}@example.com")).unwrap()
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

pub fn reservation(owner: &str, username: &str, at: DateTime<Utc>, limit: u32) -> Reservation {
    let address = address(username);
    Reservation {
        owner: user(owner),
        display_name: DisplayName::default_for(address.username()),
        address,
        provider: ProviderKind::Sandbox,
        request_id: "the-same-request-id".into(),
        token: format!("token-{}", REQUESTS.fetch_add(1, Ordering::Relaxed)),
        reserved_at: at,
        lease_expires_at: at + CREATE_LEASE,
        daily_limit: limit,
    }
}

pub fn activation(reservation: &Reservation) -> Activation {
    Activation {
        smtp: SmtpSettings {
            server: "smtp.sandbox.invalid".into(),
            port: 587,
            username: reservation.address.to_string(),
            authentication: SmtpAuthentication::Password,
        },
        webmail: Some("https://webmail.example.com".into()),
        provider_ref: format!("sandbox:{}", reservation.address),
        secret_ref: format!("secret-of-{}", reservation.address),
        activated_at: reservation.reserved_at + Duration::seconds(2),
    }
}

async fn create(store: &Store, owner: &str, username: &str) -> Reservation {
    let reserved = reservation(owner, username, start(), 100);
    store.reservations.reserve(&reserved).await.unwrap();
    store
        .reservations
        .activate(&reserved, &activation(&reserved))
        .await
        .unwrap();
    reserved
}

async fn listed(store: &Store, owner: &str) -> Vec<String> {
    let page = store
        .accounts
        .list_accounts(&user(owner), 100, None)
        .await
        .unwrap();
    page.accounts
        .iter()
        .map(|a| a.address.to_string())
        .collect()
}

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

pub async fn the_audit_trail_records_each_step(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let created = create(&store, "alice", "support").await;
    let failed = reservation("alice", "sales", start() + Duration::seconds(5), 10);
    store.reservations.reserve(&failed).await.unwrap();
    store
        .reservations
        .release(&failed, "provider is down", start() + Duration::seconds(6))
        .await
        .unwrap();

    let trail = store.audit.audit_trail(&user("alice")).await.unwrap();
    let actions: Vec<(AuditAction, String, String)> = trail
        .iter()
        .map(|e| (e.action, e.address.to_string(), e.request_id.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (
                AuditAction::CreateStarted,
                "support@example.com".into(),
                created.request_id.clone()
            ),
            (
                AuditAction::Created,
                "support@example.com".into(),
                created.request_id.clone()
            ),
            (
                AuditAction::CreateStarted,
                "sales@example.com".into(),
                failed.request_id.clone()
            ),
            (
                AuditAction::CreateFailed,
                "sales@example.com".into(),
                failed.request_id.clone()
            ),
        ]
    );
    assert!(trail.iter().all(|e| e.provider == ProviderKind::Sandbox));
    assert_eq!(trail[3].error.as_deref(), Some("provider is down"));
    assert_eq!(trail[3].action.status(), "failed");
    assert!(store
        .audit
        .audit_trail(&user("bob"))
        .await
        .unwrap()
        .is_empty());
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

fn send_event(username: &str, kind: SendEventKind, at: DateTime<Utc>, key: &str) -> SendEvent {
    SendEvent {
        address: address(username),
        kind,
        count: 1,
        at,
        event_key: key.into(),
        recorded_at: at + Duration::seconds(1),
    }
}

async fn stats_of(store: &Store, owner: &str) -> SendStats {
    let page = store
        .accounts
        .list_accounts(&user(owner), 1, None)
        .await
        .unwrap();
    page.accounts[0].stats.clone()
}

pub async fn send_events_count_once_and_roll_over_by_period(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let other = harness.handle().await;
    create(&store, "alice", "support").await;
    let last_minute = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).unwrap();
    let record = |event: SendEvent| {
        let store = store.clone();
        async move { store.send_counters.record_send_event(&event).await.unwrap() }
    };

    let sent = send_event("support", SendEventKind::Send, last_minute, "m1:Send");
    assert_eq!(record(sent.clone()).await, SendEventOutcome::Counted);
    assert_eq!(
        other.send_counters.record_send_event(&sent).await.unwrap(),
        SendEventOutcome::Duplicate,
        "a redelivery counts once, whichever process gets it"
    );
    for (kind, key) in [
        (SendEventKind::Delivery, "m1:Delivery"),
        (SendEventKind::Bounce, "m2:Bounce"),
        (SendEventKind::Complaint, "m3:Complaint"),
    ] {
        let event = send_event("support", kind, last_minute, key);
        assert_eq!(record(event).await, SendEventOutcome::Counted);
    }
    let stranger = send_event("nobody", SendEventKind::Send, last_minute, "m4:Send");
    assert_eq!(record(stranger).await, SendEventOutcome::NotOurs);

    let november = SendCounts {
        sends: 1,
        deliveries: 1,
        bounces: 1,
        complaints: 1,
    };
    let stats = stats_of(&store, "alice").await;
    assert_eq!(stats.today(last_minute), november);
    assert_eq!(stats.this_month(last_minute), november);
    assert!(stats.updated_at.is_some());

    // Midnight, and the month's end: new counters by their key.
    let first_minute = last_minute + Duration::minutes(1);
    let december = send_event("support", SendEventKind::Send, first_minute, "m5:Send");
    assert_eq!(record(december).await, SendEventOutcome::Counted);
    let stats = stats_of(&store, "alice").await;
    let one_send = SendCounts {
        sends: 1,
        ..SendCounts::default()
    };
    assert_eq!(stats.today(first_minute), one_send);
    assert_eq!(stats.this_month(first_minute), one_send);

    // A late report of November is counted in November, not in December.
    let late = send_event("support", SendEventKind::Send, last_minute, "m6:Send");
    assert_eq!(record(late).await, SendEventOutcome::Counted);
    let stats = stats_of(&store, "alice").await;
    assert_eq!(stats.today(first_minute), one_send);
    assert_eq!(stats.this_month(first_minute), one_send);
}

/// Forty reports at once, each through its own handle: twenty distinct,
/// each delivered twice.
pub async fn concurrent_send_events_are_all_counted_once(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let handle = harness.handle().await;
        let event = send_event(
            "support",
            SendEventKind::Send,
            start(),
            &format!("m{}:Send", n % 20),
        );
        tasks.push(tokio::spawn(async move {
            handle
                .send_counters
                .record_send_event(&event)
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let counted = outcomes
        .iter()
        .filter(|o| **o == SendEventOutcome::Counted)
        .count();
    assert_eq!(counted, 20, "{outcomes:?}");
    assert_eq!(stats_of(&store, "alice").await.today(start()).sends, 20);
}

pub async fn created_accounts_are_counted_and_pending_ones_not(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    assert_eq!(store.accounts.count_created_accounts().await.unwrap(), 0);
    create(&store, "alice", "support").await;
    create(&store, "bob", "sales").await;
    let pending = reservation("carol", "contact", start(), 10);
    store.reservations.reserve(&pending).await.unwrap();
    assert_eq!(store.accounts.count_created_accounts().await.unwrap(), 2);
}

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
        let change = AccountChange::CredentialsRotated {
            smtp_username: "support@example.com".into(),
            provider_ref: format!("ref-{version}"),
            secret_ref: "secret".into(),
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
        assert_eq!(i64::from(owned.credentials_version), version);
    }
}
