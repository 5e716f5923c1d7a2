//! The store conformance suite on DynamoDB (moto_server on loopback), each
//! handle a separate SDK client on the same table.

use async_trait::async_trait;
use aws_config::SdkConfig;
use integration_tests::conformance::StoreHarness;
use integration_tests::{moto, store_conformance_tests};
use provisioning::store::{DynamoStore, Store};

struct DynamoHarness {
    config: SdkConfig,
    table: String,
}

impl DynamoHarness {
    async fn new() -> Self {
        let config = moto::sdk_config().await;
        let table = moto::create_table(&aws_sdk_dynamodb::Client::new(&config)).await;
        Self { config, table }
    }
}

#[async_trait]
impl StoreHarness for DynamoHarness {
    async fn handle(&self) -> Store {
        Store::of(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            &self.table,
        ))
    }
}

store_conformance_tests!(DynamoHarness::new().await);
