//! Reading the audit trail back.

use async_trait::async_trait;

use super::rows::{StoredAuditEntry, AUDIT_COLUMNS};
use super::select;
use super::SqliteStore;
use crate::domain::UserId;
use crate::store::{AuditEntry, AuditTrail, StoreError};

#[async_trait]
impl AuditTrail for SqliteStore {
    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let owner = owner.as_str().to_string();
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE owner = ?1 ORDER BY position"
                    ),
                    [owner],
                    StoredAuditEntry::read,
                )
            })
            .await?;
        rows.into_iter().map(StoredAuditEntry::into_entry).collect()
    }
}
