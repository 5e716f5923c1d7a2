//! Provider reports, each counted once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::domain::{SendCounts, SendEventKind, SendStats};
use provisioning::store::{SendEvent, SendEventOutcome, Store};

use super::{address, create, start, user, StoreHarness};

async fn stats_of(store: &Store, owner: &str) -> SendStats {
    let page = store
        .accounts
        .list_accounts(&user(owner), 1, None)
        .await
        .unwrap();
    page.accounts[0].stats.clone()
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

pub async fn each_days_counts_are_read_back_for_a_range_of_days(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    create(&store, "alice", "sales").await;
    let day = |d: i64| start() + Duration::days(d);
    for (n, (at, kind)) in [
        (day(-8), SendEventKind::Send),
        (day(-6), SendEventKind::Send),
        (day(-6), SendEventKind::Bounce),
        (day(0), SendEventKind::Send),
        (day(0), SendEventKind::Send),
        (day(0), SendEventKind::Complaint),
    ]
    .into_iter()
    .enumerate()
    {
        let event = send_event("support", kind, at, &format!("window-{n}"));
        store.send_counters.record_send_event(&event).await.unwrap();
    }
    let other = send_event("sales", SendEventKind::Send, day(0), "window-sales");
    store.send_counters.record_send_event(&other).await.unwrap();

    let counted = harness
        .handle()
        .await
        .send_counters
        .daily_counts(
            &address("support"),
            day(-6).date_naive(),
            day(0).date_naive(),
        )
        .await
        .unwrap();
    let counts = |sends, bounces, complaints| SendCounts {
        sends,
        bounces,
        complaints,
        ..SendCounts::default()
    };
    assert_eq!(
        counted,
        [
            (day(-6).date_naive(), counts(1, 1, 0)),
            (day(0).date_naive(), counts(2, 0, 1))
        ],
        "the day before the range and another address's sends are left out"
    );
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
