//! What every store backend must do, whatever it stores into, role by role
//! (a module per role of `provisioning::store`). A backend's test file runs
//! all of it with `store_conformance_tests!(harness)`: a test module per role.

use std::sync::atomic::{AtomicU64, Ordering};

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod claims;
pub mod domains;
pub mod idempotency;
pub mod keys;
pub mod outbox;
pub mod oversight;
pub mod reservations;
pub mod send_counters;
pub mod usage;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::domain::{
    DisplayName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpSettings, UserId,
};
use provisioning::service::CREATE_LEASE;
use provisioning::store::{Activation, Reservation, Store};

/// A fresh, empty backing store; `handle` opens one more client on it, as
/// another function process would.
#[async_trait]
pub trait StoreHarness: Send + Sync {
    async fn handle(&self) -> Store;
}

#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::store_conformance_tests!(@role $harness; claims: look_alikes_are_found_by_their_key_on_their_domain);
        $crate::store_conformance_tests!(@role $harness; reservations: a_claim_is_unique, an_expired_pending_claim_can_be_taken_over, a_late_release_leaves_a_newer_reservation_alone, the_daily_quota_counts_per_user_and_day, a_release_frees_the_address_and_hides_the_account, twenty_concurrent_reservations_have_one_winner, abandoned_reservations_are_found_and_seized_once);
        $crate::store_conformance_tests!(@role $harness; accounts: lists_are_isolated_between_users, pages_cover_every_account_once_in_order, an_activated_account_is_listed_with_its_settings, created_accounts_are_counted_and_pending_ones_not);
        $crate::store_conformance_tests!(@role $harness; changes: rotations_are_counted_per_user_and_day_and_given_back, a_rotation_counts_one_more_issue_of_the_credentials, a_hold_keeps_other_changes_out_until_let_go_or_lapsed, a_send_limit_suspension_is_due_to_lift_at_the_next_utc_midnight, a_rate_suspension_never_lifts_itself_and_a_resume_restarts_the_count);
        $crate::store_conformance_tests!(@role $harness; idempotency: an_idempotency_key_is_started_once_until_done_or_dead);
        $crate::store_conformance_tests!(@role $harness; send_counters: send_events_count_once_and_roll_over_by_period, concurrent_send_events_are_all_counted_once, each_days_counts_are_read_back_for_a_range_of_days);
        $crate::store_conformance_tests!(@role $harness; audit: the_audit_trail_records_each_step);
        $crate::store_conformance_tests!(@role $harness; keys: keys_are_found_by_hash_listed_by_owner_and_revoked, an_owner_holds_at_most_the_limit, a_keys_use_is_noted_to_the_minute);
        $crate::store_conformance_tests!(@role $harness; outbox: announced_changes_wait_until_published, two_publishers_never_lease_one_change);
        $crate::store_conformance_tests!(@role $harness; usage: the_newest_reading_of_each_provider_is_kept);
        $crate::store_conformance_tests!(@role $harness; domains: each_reading_replaces_the_one_before_and_answers_it);
        $crate::store_conformance_tests!(@role $harness; oversight: every_account_is_listed_by_domain_then_address_and_filtered, a_transfer_moves_the_account_and_its_claim_to_the_new_owner, a_transfer_under_a_lost_hold_changes_nothing, audit_entries_are_read_newest_first_with_filters_and_pages, sends_are_kept_per_address_and_day_under_their_owner);
    };
    (@role $harness:expr; $role:ident: $($case:ident),*) => {
        mod $role {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let harness = $harness;
                    $crate::conformance::$role::$case(&harness).await;
                }
            )*
        }
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
        activated_at: reservation.reserved_at + Duration::seconds(2),
    }
}

pub async fn create(store: &Store, owner: &str, username: &str) -> Reservation {
    let reserved = reservation(owner, username, start(), 100);
    reserve_and_activate(store, &reserved).await;
    reserved
}

/// alice's support@ made, then her sales@ reserved and released (the
/// provider down): the one create that succeeded, and the one that failed.
pub async fn created_and_failed(store: &Store) -> (Reservation, Reservation) {
    let created = create(store, "alice", "support").await;
    let failed = reservation("alice", "sales", start() + Duration::seconds(5), 10);
    store.reservations.reserve(&failed).await.unwrap();
    store
        .reservations
        .release(&failed, "provider is down", start() + Duration::seconds(6))
        .await
        .unwrap();
    (created, failed)
}

/// `reserved` made: reserved, then activated.
pub async fn reserve_and_activate(store: &Store, reserved: &Reservation) {
    store.reservations.reserve(reserved).await.unwrap();
    store
        .reservations
        .activate(reserved, &activation(reserved))
        .await
        .unwrap();
}

pub async fn listed(store: &Store, owner: &str) -> Vec<String> {
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
