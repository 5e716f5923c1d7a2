//! The functions on their AWS backends (DynamoDB and Secrets Manager on
//! moto_server): round trips per request, where passwords live, what a
//! failed create leaves, concurrency, and the cached provider settings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::http::StatusCode as HttpStatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use integration_tests::calls::{
    assert_error, check, create_as, list, listed_emails, race_twenty_creates_of_one_address,
};
use integration_tests::fakes::BrokenProvider;
use integration_tests::moto;
use integration_tests::worlds::{AwsWorld, World};
use provisioning::config::AuthMode;
use provisioning::domain::EmailAddress;
use provisioning::providers::SandboxProvider;
use provisioning::secrets::ProviderSettings;
use provisioning::store::{DynamoStore, Store};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_costs_the_round_trips_of_the_design() {
    let world = AwsWorld::new().await;
    let app = world.app();

    let (status, _) = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201);
    assert_eq!(
        world.calls.take(),
        ["GetItem", "TransactWriteItems", "TransactWriteItems"],
        "create: its look-alike item, reserve, activate"
    );

    let (_, taken) = check(&app, "bob", "support").await;
    assert_eq!(taken["reason"], "taken");
    assert_eq!(taken["suggestions"].as_array().unwrap().len(), 5);
    let mut calls = world.calls.take();
    calls.sort();
    assert_eq!(
        calls,
        ["BatchGetItem", "GetItem"],
        "check: the address and its suggestions at once, and beside them its look-alike item"
    );

    for name in ["a", "b", "c"] {
        assert_eq!(
            create_as(&app, "alice", json!({ "username": name }))
                .await
                .0,
            201
        );
    }
    world.calls.take();
    let (_, first) = list(&app, "alice", &[("limit", "2")]).await;
    assert_eq!(world.calls.take(), ["Query"], "list: one query per page");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, second) = list(&app, "alice", &[("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(world.calls.take(), ["Query"]);
    let emails = listed_emails(&[&first, &second]);
    assert_eq!(
        emails,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "support@example.com"
        ]
    );
    assert!(second.get("next_cursor").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_the_quota_map_to_409_and_429() {
    let world = AwsWorld::new().await;
    let app = world.app_with(Arc::new(SandboxProvider::default()), 2, AuthMode::Jwt);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    let (status, body) = create_as(&app, "bob", json!({ "username": "support" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("address_taken"))
    );
    assert!(!body["error"]["suggestions"].as_array().unwrap().is_empty());

    assert_eq!(
        create_as(&app, "alice", json!({ "username": "sales" }))
            .await
            .0,
        201
    );
    let (status, body) = create_as(&app, "alice", json!({ "username": "invoices" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_leaves_no_claim_no_secret_and_refunds_the_quota() {
    let world = AwsWorld::new().await;
    let broken = world.app_with(
        Arc::new(BrokenProvider::rejecting("domain not authenticated")),
        1,
        AuthMode::Jwt,
    );
    let (status, body) = create_as(&broken, "alice", json!({ "username": "support" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("provider_error"))
    );
    assert_eq!(world.kept_passwords().await, 0);

    let healthy = world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt);
    assert_eq!(check(&healthy, "bob", "support").await.1["available"], true);
    assert_eq!(list(&healthy, "alice", &[]).await.1["accounts"], json!([]));
    assert_eq!(
        create_as(&healthy, "alice", json!({ "username": "support" }))
            .await
            .0,
        201,
        "the quota was refunded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_creates_of_one_address_give_one_201() {
    let world = Arc::new(AwsWorld::new().await);
    let racing = Arc::clone(&world);
    race_twenty_creates_of_one_address(move || racing.app()).await;
    assert_eq!(world.kept_passwords().await, 0);
}

#[tokio::test]
async fn provider_settings_come_from_the_secret_cached_then_from_the_environment() {
    let config = moto::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secret_id = moto::unique("providers");
    client
        .create_secret()
        .name(&secret_id)
        .secret_string(r#"{"SENDGRID_API_KEY": "SG.first"}"#)
        .send()
        .await
        .unwrap();
    let environment =
        |name: &str| (name == "MICROSOFT_TENANT_ID").then(|| "tenant-from-env".to_string());
    let cached = ProviderSettings::new(
        Some((client.clone(), secret_id.clone())),
        environment,
        Duration::from_secs(600),
    );
    let uncached = ProviderSettings::new(
        Some((client.clone(), secret_id.clone())),
        environment,
        Duration::ZERO,
    );

    assert_eq!(
        cached.get("SENDGRID_API_KEY").await.unwrap().as_deref(),
        Some("SG.first")
    );
    assert_eq!(
        cached.get("MICROSOFT_TENANT_ID").await.unwrap().as_deref(),
        Some("tenant-from-env")
    );
    assert_eq!(cached.get("GOOGLE_ADMIN_EMAIL").await.unwrap(), None);

    client
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string(r#"{"SENDGRID_API_KEY": "SG.rotated"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cached.get("SENDGRID_API_KEY").await.unwrap().as_deref(),
        Some("SG.first"),
        "cached within its TTL"
    );
    assert_eq!(
        uncached.get("SENDGRID_API_KEY").await.unwrap().as_deref(),
        Some("SG.rotated"),
        "read again after it"
    );

    client
        .put_secret_value()
        .secret_id(&secret_id)
        .secret_string("not json")
        .send()
        .await
        .unwrap();
    let error = uncached
        .get("SENDGRID_API_KEY")
        .await
        .expect_err("a malformed secret is an error");
    assert!(
        !error.to_string().contains("not json"),
        "the error never quotes the secret"
    );

    let without_secret = ProviderSettings::new(None, environment, Duration::ZERO);
    assert_eq!(
        without_secret
            .get("MICROSOFT_TENANT_ID")
            .await
            .unwrap()
            .as_deref(),
        Some("tenant-from-env")
    );
}

/// DynamoDB as it behaves under contention, on top of the emulator: the
/// first `conflicts` transactions are cancelled as conflicting with another
/// (they never reach moto, so nothing of them is written), and the first
/// batch read hands every key back unprocessed (as DynamoDB does when it
/// throttles).
#[derive(Debug)]
struct Contention {
    conflicts: AtomicUsize,
    unprocessed_batches: AtomicUsize,
    /// When each batch read was sent.
    batch_reads: Mutex<Vec<Instant>>,
}

impl Contention {
    fn new(conflicts: usize, unprocessed_batches: usize) -> Arc<Self> {
        Arc::new(Self {
            conflicts: AtomicUsize::new(conflicts),
            unprocessed_batches: AtomicUsize::new(unprocessed_batches),
            batch_reads: Mutex::new(Vec::new()),
        })
    }

    fn take(counter: &AtomicUsize) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// What the contended calls are answered with, kept per call.
#[derive(Debug, Clone)]
enum Injected {
    Conflict,
    Unprocessed(Value),
}

impl Storable for Injected {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
struct ContentionInterceptor(Arc<Contention>);

impl Intercept for ContentionInterceptor {
    fn name(&self) -> &'static str {
        "Contention"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let target = request.headers().get("x-amz-target").unwrap_or("");
        if target.ends_with(".TransactWriteItems") && Contention::take(&self.0.conflicts) {
            // Sent as a harmless read instead: the cancelled transaction writes nothing.
            let headers = request.headers_mut();
            headers.insert("x-amz-target", "DynamoDB_20120810.DescribeLimits");
            headers.insert("content-length", "2");
            *request.body_mut() = SdkBody::from("{}");
            cfg.interceptor_state().store_put(Injected::Conflict);
        } else if target.ends_with(".BatchGetItem") {
            self.0.batch_reads.lock().unwrap().push(Instant::now());
            if Contention::take(&self.0.unprocessed_batches) {
                let body: Value = serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
                cfg.interceptor_state()
                    .store_put(Injected::Unprocessed(body["RequestItems"].clone()));
            }
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (status, body) = match cfg.load::<Injected>() {
            None => return Ok(()),
            Some(Injected::Conflict) => (
                400,
                json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                    "CancellationReasons": [{ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }]
                }),
            ),
            Some(Injected::Unprocessed(keys)) => {
                (200, json!({ "Responses": {}, "UnprocessedKeys": keys }))
            }
        };
        let response = context.response_mut();
        *response.status_mut() = HttpStatusCode::try_from(status).unwrap();
        response.headers_mut().remove("x-amz-crc32");
        *response.body_mut() = SdkBody::from(body.to_string());
        Ok(())
    }
}

/// A function process of `world` whose DynamoDB client meets `contention`.
fn contended_app(world: &AwsWorld, contention: &Arc<Contention>) -> provisioning::App {
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&world.config)
        .interceptor(ContentionInterceptor(Arc::clone(contention)))
        .interceptor(world.calls.clone())
        .build();
    let mut parts = world.parts(Arc::new(SandboxProvider::default()));
    parts.store = Store::of(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        &world.table,
    ));
    parts.app(10, AuthMode::Jwt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_conflict_is_tried_again_then_answered_as_in_progress() {
    let world = AwsWorld::new().await;
    let app = contended_app(&world, &Contention::new(2, 0));
    let (status, body) = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201, "{body}");
    let transactions = world
        .calls
        .take()
        .into_iter()
        .filter(|call| call == "TransactWriteItems")
        .count();
    assert_eq!(
        transactions, 2,
        "reserve (after two conflicts) and activate"
    );

    // Contention that does not end: a clear 409, never a 500, and nothing written.
    let app = contended_app(&world, &Contention::new(usize::MAX, 0));
    let refused = create_as(&app, "bob", json!({ "username": "sales" })).await;
    assert_error(&refused, 409, "request_in_progress");
    let claims = world
        .store()
        .claims
        .claims(&[EmailAddress::parse("sales@example.com").unwrap()])
        .await
        .unwrap();
    assert!(claims.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_batch_keys_are_read_again_after_a_wait() {
    let world = AwsWorld::new().await;
    let plain = world.app();
    assert_eq!(
        create_as(&plain, "alice", json!({ "username": "support" }))
            .await
            .0,
        201
    );
    let contention = Contention::new(0, 1);
    let app = contended_app(&world, &contention);
    let (_, taken) = check(&app, "bob", "support").await;
    assert_eq!(taken["reason"], "taken", "{taken}");
    assert_eq!(taken["suggestions"].as_array().unwrap().len(), 5);
    let reads = contention.batch_reads.lock().unwrap().clone();
    assert_eq!(reads.len(), 2, "the unprocessed keys were read again, once");
    let gap = reads[1] - reads[0];
    assert!(
        gap >= Duration::from_millis(40),
        "no wait before reading again: {gap:?}"
    );
}
