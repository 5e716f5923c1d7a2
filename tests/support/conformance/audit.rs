//! The audit trail each write leaves.

use provisioning::domain::ProviderKind;
use provisioning::store::AuditAction;

use super::{created_and_failed, user, StoreHarness};

pub async fn the_audit_trail_records_each_step(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    let (created, failed) = created_and_failed(&store).await;

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
