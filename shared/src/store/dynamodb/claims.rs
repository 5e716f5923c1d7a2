//! Who holds which address: the claims and their look-alikes.

use async_trait::async_trait;

use super::items::{claim_from_item, claim_key, lookalike_item_key, Item};
use super::DynamoStore;
use crate::domain::EmailAddress;
use crate::store::encoding::corrupt;
use crate::store::{lookalike_key, Claim, Claims, StoreError};

#[async_trait]
impl Claims for DynamoStore {
    async fn claims(&self, addresses: &[EmailAddress]) -> Result<Vec<Claim>, StoreError> {
        let mut keys: Vec<Item> = addresses.iter().map(claim_key).collect();
        keys.dedup();
        self.batch_get(keys)
            .await?
            .iter()
            .map(|item| claim_from_item(item).map(|(claim, _)| claim))
            .collect()
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
