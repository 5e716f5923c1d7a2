//! Reading the audit trail back.

use async_trait::async_trait;

use super::items::{audit_from_item, s, Item};
use super::DynamoStore;
use crate::domain::UserId;
use crate::store::encoding::backend;
use crate::store::{AuditEntry, AuditTrail, StoreError};

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
                entries.push(audit_from_item(item)?);
            }
            match output.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(entries),
            }
        }
    }
}
