//! Lifecycle events, on SQLite and on DynamoDB alike: every committed
//! change (create, rotate, disable, enable, transfer, delete) is published
//! once, with address, owner, actor, provider and time and never a secret;
//! a change that rolled back or was refused publishes nothing; a publish
//! that fails after the commit loses nothing (the reconcile job publishes
//! it). On moto, the events reach an EventBridge bus and a rule's target.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use integration_tests::calls::{account_action_as, admin_as, create_as, delete_as, ADMINS};
use integration_tests::events::Event;
use integration_tests::fakes::FailingActivation;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{moto, provider_fakes};
use integration_tests::{policy, world_tests};
use provisioning::config::AuthMode;
use provisioning::lifecycle::{EventBridgeSink, EventSink, JsonLinesSink};
use provisioning::providers::SandboxProvider;
use provisioning::service::CompanyDirectories;
use provisioning::App;
use serde_json::{json, Value};

/// A function process with administrators, publishing to `sink`.
fn publishing_app(world: &impl World, sink: Arc<dyn EventSink>) -> App {
    let mut policy = policy(10);
    policy.access.admin_groups = vec![ADMINS.into()];
    let mut app = world.parts(Arc::new(SandboxProvider::default())).app_under(
        policy,
        CompanyDirectories::none(),
        AuthMode::Jwt,
    );
    app.service = app.service.with_events(sink);
    app
}

fn published(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["detail-type"].as_str().unwrap().to_string())
        .collect()
}

async fn every_committed_change_is_published_once_and_nothing_else(world: &impl World) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let app = publishing_app(world, Arc::new(JsonLinesSink::new(&file)));

    let (status, created) = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201, "{created}");
    let email = "support@example.com";
    let (status, rotated) = account_action_as(
        &app,
        "alice",
        email,
        "rotate-credentials",
        Some("rotate-1-0123456789"),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    for action in ["disable", "enable"] {
        assert_eq!(
            account_action_as(&app, "alice", email, action, None)
                .await
                .0,
            200
        );
    }
    let transfer = Event::load("admin-transfer").json(json!({ "owner": "bob", "rotate": false }));
    let (status, moved) = admin_as(&app, "root", transfer).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(delete_as(&app, "bob", email).await.0, 200);

    // Refused (the address is in quarantine) and rolled back (the create's
    // last transaction fails): no event for either.
    assert_eq!(
        create_as(&app, "carol", json!({ "username": "support" }))
            .await
            .0,
        409
    );
    let mut parts = world.parts(Arc::new(SandboxProvider::default()));
    parts.store.reservations = Arc::new(FailingActivation(parts.store.reservations.clone()));
    let mut failing = parts.app(10, AuthMode::Jwt);
    failing.service = failing
        .service
        .with_events(Arc::new(JsonLinesSink::new(&file)));
    let refused = create_as(&failing, "alice", json!({ "username": "sales" })).await;
    assert!(refused.0 >= 500, "{refused:?}");

    let events = published(&file);
    assert_eq!(
        kinds(&events),
        [
            "AccountCreated",
            "CredentialsRotated",
            "AccountDisabled",
            "AccountEnabled",
            "AccountTransferred",
            "AccountDeleted"
        ]
    );
    for event in &events {
        assert_eq!(event["source"], "email-provisioning");
        let detail = &event["detail"];
        assert_eq!(detail["address"], email, "{event}");
        assert_eq!(detail["provider"], "sandbox");
        assert!(detail["time"].as_str().unwrap().ends_with('Z'), "{event}");
        assert!(detail["id"].is_string() && detail["request_id"].is_string());
    }
    let who = |index: usize| {
        (
            events[index]["detail"]["owner"]
                .as_str()
                .unwrap()
                .to_string(),
            events[index]["detail"]["actor"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(who(0), ("alice".into(), "alice".into()));
    assert_eq!(who(4), ("bob".into(), "root".into()));
    assert_eq!(events[4]["detail"]["previous_owner"], "alice");
    assert_eq!(events[4]["detail"]["credentials_rotated"], false);
    assert_eq!(who(5), ("bob".into(), "bob".into()));
    let mut ids: Vec<&str> = events
        .iter()
        .map(|event| event["detail"]["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "each change has its own id");

    let text = std::fs::read_to_string(&file).unwrap();
    for password in [
        &created["credentials"]["password"],
        &rotated["credentials"]["password"],
    ] {
        let password = password.as_str().expect("a password was handed out");
        assert!(!text.contains(password), "a password in the events");
    }
    // Nothing waits: the job finds nothing more to publish.
    assert_eq!(app.service.announcer().drain().await.unwrap(), 0);
    assert_eq!(published(&file).len(), 6);
}

/// The change commits, the publish fails (the events file cannot be
/// written): the answer is still the change's, and the reconcile job
/// publishes the event later, once.
async fn a_publish_that_fails_after_the_commit_loses_nothing(world: &impl World) {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: every append fails.
    let unwritable: PathBuf = dir.path().join("events.jsonl");
    std::fs::create_dir(&unwritable).unwrap();
    let app = publishing_app(world, Arc::new(JsonLinesSink::new(&unwritable)));
    let (status, created) = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201, "{created}");
    // Past the lease the failed publish took: the job fails the same way.
    world.clock().advance(chrono::Duration::seconds(31));
    assert!(app.service.announcer().drain().await.is_err());

    let file = dir.path().join("later.jsonl");
    let job = publishing_app(world, Arc::new(JsonLinesSink::new(&file)));
    world.clock().advance(chrono::Duration::seconds(31));
    assert_eq!(job.service.announcer().drain().await.unwrap(), 1);
    assert_eq!(job.service.announcer().drain().await.unwrap(), 0);
    let events = published(&file);
    assert_eq!(kinds(&events), ["AccountCreated"]);
    assert_eq!(events[0]["detail"]["address"], "support@example.com");
}

/// The EventBridge sink against moto: the stack's bus, a rule on this
/// service's events, an SQS queue as its target (read with moto's JSON
/// protocol); a bus that does not exist keeps the events in the outbox.
async fn events_reach_an_eventbridge_rule(world: &AwsWorld) {
    let config = moto::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bus = moto::unique("bus");
    let queue = moto::unique("queue");
    let queue_url = sqs("CreateQueue", json!({ "QueueName": queue })).await["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();

    let missing_bus = publishing_app(world, Arc::new(EventBridgeSink::new(events.clone(), &bus)));
    let (status, _) = create_as(&missing_bus, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201);

    events.create_event_bus().name(&bus).send().await.unwrap();
    events
        .put_rule()
        .event_bus_name(&bus)
        .name("lifecycle")
        .event_pattern(json!({ "source": ["email-provisioning"] }).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .event_bus_name(&bus)
        .rule("lifecycle")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(format!("arn:aws:sqs:us-east-1:123456789012:{queue}"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let app = publishing_app(world, Arc::new(EventBridgeSink::new(events, &bus)));
    world.clock().advance(chrono::Duration::seconds(31));
    assert_eq!(app.service.announcer().drain().await.unwrap(), 1);

    let received = sqs(
        "ReceiveMessage",
        json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10 }),
    )
    .await;
    let messages = received["Messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1, "{received}");
    let delivered: Value = serde_json::from_str(messages[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(delivered["source"], "email-provisioning");
    assert_eq!(delivered["detail-type"], "AccountCreated");
    assert_eq!(delivered["detail"]["address"], "support@example.com");
    assert_eq!(delivered["detail"]["owner"], "alice");
}

/// One call of moto's SQS, in its JSON protocol. Moto checks no signature;
/// it finds the service by the credential scope the header names.
async fn sqs(action: &str, body: Value) -> Value {
    provider_fakes::http()
        .client()
        .post(moto::endpoint())
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/sqs/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .header("x-amz-target", format!("AmazonSQS.{action}"))
        .header("content-type", "application/x-amz-json-1.0")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        every_committed_change_is_published_once_and_nothing_else,
        a_publish_that_fails_after_the_commit_loses_nothing,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        every_committed_change_is_published_once_and_nothing_else,
        a_publish_that_fails_after_the_commit_loses_nothing,
        events_reach_an_eventbridge_rule,
    );
}
