//! The audit trail each write leaves.

use chrono::Duration;
use provisioning::domain::ProviderKind;
use provisioning::store::AuditAction;

use super::{create, reservation, start, user, StoreHarness};

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
