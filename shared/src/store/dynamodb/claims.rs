//! Who holds which address: the claims and their look-alikes.

use async_trait::async_trait;

use super::items::{
    claim_from_item, claim_key, contended_wait, lookalike_item_key, Item, CONTENDED_TRIES,
};
use super::DynamoStore;
use crate::domain::EmailAddress;
use crate::store::encoding::{backend, corrupt};
use crate::store::{lookalike_key, Claim, Claims, StoreError};
use aws_sdk_dynamodb::types::KeysAndAttributes;

#[async_trait]
impl Claims for DynamoStore {
    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError> {
        let mut pending: Vec<Item> = addresses.iter().map(claim_key).collect();
        pending.dedup();
        let mut claims = Vec::new();
        // One round trip; more only if DynamoDB hands back unprocessed keys,
        // each after a longer wait (it leaves keys when it is throttling).
        let mut rounds = 0;
        while !pending.is_empty() {
            if rounds > 0 {
                if rounds >= CONTENDED_TRIES {
                    return Err(StoreError::Contended);
                }
                tokio::time::sleep(contended_wait(rounds)).await;
            }
            rounds += 1;
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(backend)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(backend)?;
            for item in output
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                claims.push(claim_from_item(item)?.0);
            }
            if let Some(unprocessed) = output.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = unprocessed.keys().to_vec();
            }
        }
        Ok(claims)
    }

    /// The look-alike item (one consistent `GetItem`), then the claims of
    /// the other addresses it names, in one `BatchGetItem` (none when it
    /// names none: the usual case).
    async fn lookalikes_of(&self, address: &EmailAddress) -> Result<Vec<Claim>, StoreError> {
        let key = lookalike_item_key(&lookalike_key(address));
        let Some(item) = self.consistent_get(key).await? else {
            return Ok(Vec::new());
        };
        let others = item
            .get("addresses")
            .and_then(|value| value.as_ss().ok())
            .ok_or_else(|| corrupt("a look-alike item without its addresses"))?
            .iter()
            .map(|other| EmailAddress::parse(other).map_err(corrupt))
            .filter(|other| other.as_ref().map_or(true, |other| other != address))
            .collect::<Result<Vec<_>, _>>()?;
        self.claims(&others).await
    }
}
