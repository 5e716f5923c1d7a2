//! The metrics every function emits (CloudWatch Embedded Metric Format on
//! stdout), read back through the telemetry capture: a cold start, checks
//! served, accounts created by provider, failed creates by provider and
//! kind of error, rate-limit rejections. One test: the capture is per process.

use std::sync::Arc;

use integration_tests::calls::{check, create_as};
use integration_tests::worlds::{SqliteWorld, World};
use provisioning::config::AuthMode;
use provisioning::providers::SandboxProvider;
use provisioning::telemetry::captured_metrics;
use serde_json::{json, Value};

/// The records that carry `metric`, each as its dimensions and value.
fn carrying(records: &[Value], metric: &str) -> Vec<Value> {
    records
        .iter()
        .filter(|record| record.get(metric).is_some())
        .map(|record| {
            let directive = &record["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "EmailProvisioning");
            let dimensions: Vec<(String, Value)> = directive["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|name| {
                    let name = name.as_str().unwrap();
                    (name.to_string(), record[name].clone())
                })
                .collect();
            json!({ "dimensions": dimensions, "value": record[metric] })
        })
        .collect()
}

#[tokio::test]
async fn requests_emit_the_dashboard_metrics() {
    captured_metrics();
    let world = SqliteWorld::new();
    let app = world.app_with(Arc::new(SandboxProvider::default()), 1, AuthMode::Jwt);

    assert_eq!(check(&app, "alice", "contact").await.0, 200);
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "sales" }))
            .await
            .0,
        429
    );
    assert_eq!(
        create_as(&app, "bob", json!({ "username": "x", "provider": "ses" }))
            .await
            .0,
        422
    );
    // Request text never becomes a dimension: each new value would be a new, billed metric.
    assert_eq!(
        create_as(
            &app,
            "bob",
            json!({ "username": "x", "provider": "anything-a-caller-types" })
        )
        .await
        .0,
        422
    );
    let records = captured_metrics();

    let cold_starts = carrying(&records, "ColdStarts");
    assert_eq!(cold_starts.len(), 1, "one cold start, the first request's");
    assert_eq!(cold_starts[0]["value"], 1.0);
    assert_eq!(cold_starts[0]["dimensions"][0][0], "Function");
    assert!(cold_starts[0]["dimensions"][0][1]
        .as_str()
        .is_some_and(|name| name.starts_with("metrics")));
    assert_eq!(
        carrying(&records, "ChecksServed"),
        [json!({ "dimensions": [["Outcome", "available"]], "value": 1.0 })]
    );
    assert_eq!(
        carrying(&records, "AccountsCreated"),
        [json!({ "dimensions": [["Provider", "sandbox"]], "value": 1.0 })]
    );
    assert_eq!(
        carrying(&records, "CreateFailures"),
        [
            json!({ "dimensions": [["Provider", "default"], ["ErrorKind", "rate_limited"]], "value": 1.0 }),
            json!({ "dimensions": [["Provider", "ses"], ["ErrorKind", "provider_not_available"]], "value": 1.0 }),
            json!({ "dimensions": [["Provider", "unknown"], ["ErrorKind", "provider_not_available"]], "value": 1.0 }),
        ]
    );
    assert_eq!(carrying(&records, "RateLimitRejections").len(), 1);
}
