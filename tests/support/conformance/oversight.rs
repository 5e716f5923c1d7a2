//! What administrators read across users, and a transfer between them.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use provisioning::domain::{
    AccountStatus, AddressFragment, DomainName, EmailAddress, ProviderKind, SendCounts,
    SendEventKind,
};
use provisioning::store::{
    AccountChange, AccountFilter, AccountHold, AuditAction, AuditFilter, ClaimState, HoldRequest,
    NewCredentials, Operation, Reservation, SendEvent, Store, StoreError,
};

use super::{
    activation, address, create, reservation, reserve_and_activate, start, user, StoreHarness,
};

/// A reservation of `username@domain` (not necessarily example.com).
fn reservation_on(owner: &str, username: &str, domain: &str, minute: i64) -> Reservation {
    let mut reserved = reservation(owner, username, start() + Duration::minutes(minute), 100);
    reserved.address = EmailAddress::parse(&format!("{username}@{domain}")).unwrap();
    reserved
}

async fn created_on(store: &Store, owner: &str, username: &str, domain: &str, minute: i64) {
    reserve_and_activate(store, &reservation_on(owner, username, domain, minute)).await;
}

async fn all_listed(store: &Store, filter: &AccountFilter, limit: u32) -> Vec<String> {
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .oversight
            .all_accounts(filter, limit, after.as_ref())
            .await
            .unwrap();
        assert!(page.accounts.len() <= limit as usize);
        listed.extend(
            page.accounts
                .iter()
                .map(|a| format!("{} {}", a.owner, a.address)),
        );
        match page.next_after {
            Some(next) => after = Some(next),
            None => return listed,
        }
    }
}

pub async fn every_account_is_listed_by_domain_then_address_and_filtered(
    harness: &dyn StoreHarness,
) {
    let store = harness.handle().await;
    created_on(&store, "alice", "support", "example.com", 0).await;
    created_on(&store, "bob", "sales", "example.com", 1).await;
    created_on(&store, "bob", "contact", "acme.example", 2).await;
    created_on(&store, "carol", "billing-team", "example.com", 3).await;
    // A create under way is listed; a failed one is not.
    let pending = reservation_on("carol", "newsletter", "example.com", 4);
    store.reservations.reserve(&pending).await.unwrap();
    let failed = reservation_on("alice", "press", "example.com", 5);
    store.reservations.reserve(&failed).await.unwrap();
    store
        .reservations
        .release(&failed, "provider down", start() + Duration::minutes(6))
        .await
        .unwrap();

    let everything = [
        "bob contact@acme.example",
        "carol billing-team@example.com",
        "carol newsletter@example.com",
        "bob sales@example.com",
        "alice support@example.com",
    ];
    for limit in [1, 2, 100] {
        assert_eq!(
            all_listed(&store, &AccountFilter::default(), limit).await,
            everything,
            "pages of {limit}"
        );
    }
    let filtered = |filter: AccountFilter| {
        let store = store.clone();
        async move { all_listed(&store, &filter, 2).await }
    };
    assert_eq!(
        filtered(AccountFilter {
            owner: Some(user("bob")),
            ..AccountFilter::default()
        })
        .await,
        ["bob contact@acme.example", "bob sales@example.com"]
    );
    assert_eq!(
        filtered(AccountFilter {
            domain: Some(DomainName::parse("acme.example").unwrap()),
            ..AccountFilter::default()
        })
        .await,
        ["bob contact@acme.example"]
    );
    assert_eq!(
        filtered(AccountFilter {
            status: Some(AccountStatus::Pending),
            ..AccountFilter::default()
        })
        .await,
        ["carol newsletter@example.com"]
    );
    assert_eq!(
        filtered(AccountFilter {
            address_contains: Some(AddressFragment::parse("ing").unwrap()),
            domain: Some(DomainName::parse("example.com").unwrap()),
            owner: Some(user("carol")),
            status: Some(AccountStatus::Active),
            provider: Some(ProviderKind::Sandbox),
        })
        .await,
        ["carol billing-team@example.com"]
    );
    assert!(filtered(AccountFilter {
        provider: Some(ProviderKind::Ses),
        ..AccountFilter::default()
    })
    .await
    .is_empty());
}

fn transfer_hold(owner: &str, username: &str, token: &str, rotate: bool) -> AccountHold {
    let at = start() + Duration::minutes(10);
    AccountHold {
        request: HoldRequest {
            owner: user(owner),
            actor: user("admin"),
            address: address(username),
            operation: Operation::Transfer { rotate },
            request_id: format!("request-{token}"),
            token: token.into(),
            started_at: at,
            lease_expires_at: at + Duration::minutes(5),
        },
        provider: ProviderKind::Sandbox,
    }
}

pub async fn a_transfer_moves_the_account_and_its_claim_to_the_new_owner(
    harness: &dyn StoreHarness,
) {
    let store = harness.handle().await;
    // Bob once failed to create support@: his failed record must not stand in the way.
    let bobs_failed = reservation("bob", "support", start() - Duration::days(1), 10);
    store.reservations.reserve(&bobs_failed).await.unwrap();
    store
        .reservations
        .release(&bobs_failed, "provider down", start() - Duration::days(1))
        .await
        .unwrap();
    create(&store, "alice", "support").await;
    let before = store
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .unwrap();

    let hold = transfer_hold("alice", "support", "transfer-1", true);
    store.changes.hold_account(&hold.request).await.unwrap();
    // A report counted while the transfer holds the account moves with it.
    let sent = SendEvent {
        address: address("support"),
        kind: SendEventKind::Send,
        count: 3,
        at: hold.request.started_at,
        event_key: "sent-during-the-transfer".into(),
        recorded_at: hold.request.started_at,
    };
    store.send_counters.record_send_event(&sent).await.unwrap();
    let change = AccountChange::Transferred {
        to: user("bob"),
        credentials: Some(NewCredentials {
            smtp_username: "support-2@example.com".into(),
            provider_ref: "ref-2".into(),
        }),
    };
    store.changes.finish_change(&hold, &change).await.unwrap();

    let other = harness.handle().await;
    assert!(other
        .accounts
        .owned_account(&user("alice"), &address("support"))
        .await
        .unwrap()
        .is_none());
    let after = other
        .accounts
        .owned_account(&user("bob"), &address("support"))
        .await
        .unwrap()
        .expect("bob has it now");
    assert_eq!(after.account.owner, user("bob"));
    assert_eq!(after.account.display_name, before.account.display_name);
    assert_eq!(after.account.created_at, before.account.created_at);
    assert_eq!(after.credentials_version, before.credentials_version + 1);
    assert_eq!(after.account.stats.today(hold.request.started_at).sends, 3);
    assert_eq!(after.provider_ref.as_deref(), Some("ref-2"));
    assert_eq!(
        after
            .account
            .smtp
            .as_ref()
            .map(|smtp| smtp.username.as_str()),
        Some("support-2@example.com")
    );
    assert!(super::listed(&other, "alice").await.is_empty());
    assert_eq!(super::listed(&other, "bob").await, ["support@example.com"]);
    let claim = &other.claims.claims(&[address("support")]).await.unwrap()[0];
    assert_eq!(
        (claim.owner.clone(), claim.state),
        (user("bob"), ClaimState::Active)
    );

    // The old owner meets it as a stranger; the new one may change it.
    let mut late = transfer_hold("alice", "support", "late", false).request;
    late.operation = Operation::Disable;
    assert!(matches!(
        other.changes.hold_account(&late).await,
        Err(StoreError::AccountNotFound)
    ));
    let mut bobs = transfer_hold("bob", "support", "bobs", false).request;
    bobs.operation = Operation::Disable;
    other.changes.hold_account(&bobs).await.unwrap();

    let trail = other.audit.audit_trail(&user("alice")).await.unwrap();
    let transferred = trail.last().unwrap();
    assert_eq!(transferred.action, AuditAction::TransferredAndRotated);
    assert_eq!(transferred.actor, user("admin"));
    assert_eq!(transferred.owner, user("alice"));
    assert_eq!(transferred.new_owner, Some(user("bob")));
}

pub async fn a_transfer_under_a_lost_hold_changes_nothing(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    let hold = transfer_hold("alice", "support", "transfer-1", false);
    store.changes.hold_account(&hold.request).await.unwrap();
    // The hold lapsed and another change took the account over.
    let mut newer = transfer_hold("alice", "support", "newer", false).request;
    newer.started_at = hold.request.lease_expires_at + Duration::seconds(1);
    newer.lease_expires_at = newer.started_at + Duration::minutes(5);
    newer.operation = Operation::Disable;
    store.changes.hold_account(&newer).await.unwrap();

    let change = AccountChange::Transferred {
        to: user("bob"),
        credentials: None,
    };
    assert!(matches!(
        store.changes.finish_change(&hold, &change).await,
        Err(StoreError::ReservationLost)
    ));
    assert_eq!(
        super::listed(&store, "alice").await,
        ["support@example.com"]
    );
    assert!(super::listed(&store, "bob").await.is_empty());
    let claim = &store.claims.claims(&[address("support")]).await.unwrap()[0];
    assert_eq!(claim.owner, user("alice"));
}

pub async fn audit_entries_are_read_newest_first_with_filters_and_pages(
    harness: &dyn StoreHarness,
) {
    let store = harness.handle().await;
    // Creates across two months, and a transfer by an administrator.
    let november = Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap();
    let december = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    for (owner, username, at) in [
        ("alice", "support", november),
        ("bob", "sales", november + Duration::minutes(1)),
        ("alice", "contact", december),
    ] {
        let reserved = reservation(owner, username, at, 100);
        store.reservations.reserve(&reserved).await.unwrap();
        let mut activated = activation(&reserved);
        activated.activated_at = at + Duration::seconds(1);
        store
            .reservations
            .activate(&reserved, &activated)
            .await
            .unwrap();
    }
    let mut hold = transfer_hold("alice", "support", "transfer-1", false);
    hold.request.started_at = december + Duration::hours(1);
    hold.request.lease_expires_at = hold.request.started_at + Duration::minutes(5);
    store.changes.hold_account(&hold.request).await.unwrap();
    let change = AccountChange::Transferred {
        to: user("bob"),
        credentials: None,
    };
    store.changes.finish_change(&hold, &change).await.unwrap();

    let read_all = |filter: AuditFilter, limit: u32| {
        let store = store.clone();
        async move {
            let mut entries = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .oversight
                    .audit_entries(&filter, limit, after.as_ref())
                    .await
                    .unwrap();
                assert!(page.entries.len() <= limit as usize);
                entries.extend(
                    page.entries
                        .iter()
                        .map(|e| format!("{} {} {}", e.action.as_str(), e.address, e.actor)),
                );
                match page.next {
                    Some(next) => after = Some(next),
                    None => return entries,
                }
            }
        }
    };
    let newest_first = [
        "transferred support@example.com admin",
        "created contact@example.com alice",
        "create_started contact@example.com alice",
        "created sales@example.com bob",
        "create_started sales@example.com bob",
        "created support@example.com alice",
        "create_started support@example.com alice",
    ];
    let since = AuditFilter {
        from: Some(november - Duration::days(1)),
        ..AuditFilter::default()
    };
    for limit in [1, 3, 100] {
        assert_eq!(
            read_all(since.clone(), limit).await,
            newest_first,
            "pages of {limit}"
        );
    }
    let only = |filter: AuditFilter| {
        let read_all = &read_all;
        async move { read_all(filter, 2).await }
    };
    assert_eq!(
        only(AuditFilter {
            actor: Some(user("admin")),
            ..since.clone()
        })
        .await,
        ["transferred support@example.com admin"]
    );
    assert_eq!(
        only(AuditFilter {
            owner: Some(user("alice")),
            action: Some(AuditAction::Created),
            ..since.clone()
        })
        .await,
        [
            "created contact@example.com alice",
            "created support@example.com alice"
        ]
    );
    assert_eq!(
        only(AuditFilter {
            address: Some(address("sales")),
            ..since.clone()
        })
        .await,
        [
            "created sales@example.com bob",
            "create_started sales@example.com bob"
        ]
    );
    assert_eq!(
        only(AuditFilter {
            from: Some(december),
            to: Some(december + Duration::minutes(30)),
            ..AuditFilter::default()
        })
        .await,
        [
            "created contact@example.com alice",
            "create_started contact@example.com alice"
        ]
    );
}

pub async fn sends_are_kept_per_address_and_day_under_their_owner(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    create(&store, "alice", "support").await;
    create(&store, "bob", "sales").await;
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap();
    for (username, kind, at, key) in [
        ("support", SendEventKind::Send, day(28), "a"),
        ("support", SendEventKind::Send, day(28), "b"),
        ("support", SendEventKind::Bounce, day(28), "c"),
        ("support", SendEventKind::Send, day(29), "d"),
        ("sales", SendEventKind::Complaint, day(29), "e"),
        ("sales", SendEventKind::Send, day(30), "f"),
    ] {
        let event = SendEvent {
            address: address(username),
            kind,
            count: 1,
            at,
            event_key: key.into(),
            recorded_at: at,
        };
        store.send_counters.record_send_event(&event).await.unwrap();
    }
    let date = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let mut sends = store
        .oversight
        .daily_sends(date(28), date(29))
        .await
        .unwrap();
    sends.sort_by(|a, b| (a.day, &a.address).cmp(&(b.day, &b.address)));
    let rows: Vec<_> = sends
        .iter()
        .map(|s| {
            (
                s.day,
                s.address.to_string(),
                s.owner.to_string(),
                s.provider,
                s.counts,
            )
        })
        .collect();
    let counts = |sends, bounces, complaints| SendCounts {
        sends,
        deliveries: 0,
        bounces,
        complaints,
    };
    assert_eq!(
        rows,
        [
            (
                date(28),
                "support@example.com".to_string(),
                "alice".to_string(),
                ProviderKind::Sandbox,
                counts(2, 1, 0)
            ),
            (
                date(29),
                "sales@example.com".to_string(),
                "bob".to_string(),
                ProviderKind::Sandbox,
                counts(0, 0, 1)
            ),
            (
                date(29),
                "support@example.com".to_string(),
                "alice".to_string(),
                ProviderKind::Sandbox,
                counts(1, 0, 0)
            ),
        ]
    );
}
