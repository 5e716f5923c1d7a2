//! Reading the audit trail back.

use super::items::ItemExt;
use async_trait::async_trait;

use super::items::{s, Item};
use super::DynamoStore;
use crate::domain::{EmailAddress, UserId};
use crate::store::encoding::{backend, corrupt, parse_timestamp, provider_kind};
use crate::store::{AuditAction, AuditEntry, AuditTrail, StoreError};

#[async_trait]
impl AuditTrail for DynamoStore {
    async fn audit_trail(&self, owner: &UserId) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :logs)")
                .expression_attribute_values(":pk", s(format!("USER#{owner}")))
                .expression_attribute_values(":logs", s("LOG#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                let action = item.text("action")?;
                entries.push(AuditEntry {
                    at: parse_timestamp(item.text("at")?)?,
                    request_id: item.text("request_id")?.to_string(),
                    action: AuditAction::parse(action)
                        .ok_or_else(|| corrupt(format!("bad audit action {action:?}")))?,
                    address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
                    provider: provider_kind(item.text("provider")?)?,
                    error: item.optional_text("error").map(str::to_string),
                });
            }
            match output.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(entries),
            }
        }
    }
}
