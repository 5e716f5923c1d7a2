//! Reading the audit trail back.

use async_trait::async_trait;

use super::select;
use super::SqliteStore;
use crate::domain::{EmailAddress, UserId};
use crate::store::encoding::{corrupt, parse_timestamp, provider_kind};
use crate::store::{AuditAction, AuditEntry, AuditTrail, StoreError};

#[async_trait]
impl AuditTrail for SqliteStore {
    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let owner = owner.as_str().to_string();
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    "SELECT at, request_id, action, address, provider, error
                     FROM audit_log WHERE owner = ?1 ORDER BY id",
                    [owner],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, Option<String>>(5)?,
                        ))
                    },
                )
            })
            .await?;
        rows.into_iter()
            .map(|(at, request_id, action, address, provider, error)| {
                Ok(AuditEntry {
                    at: parse_timestamp(&at)?,
                    request_id,
                    action: AuditAction::parse(&action)
                        .ok_or_else(|| corrupt(format!("bad audit action {action:?}")))?,
                    address: EmailAddress::parse(&address).map_err(corrupt)?,
                    provider: provider_kind(&provider)?,
                    error,
                })
            })
            .collect()
    }
}
