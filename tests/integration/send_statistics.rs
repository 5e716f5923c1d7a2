//! Send statistics from the providers' own reports, on SQLite and on
//! DynamoDB alike: SES events as EventBridge delivers them (`events/ses-*`)
//! counted against the address that sent the mail, once, in the UTC day
//! and month they happened; what is not ours or not counted changes nothing.

use chrono::Duration;
use integration_tests::calls::{create_as, list};
use integration_tests::events::Event;
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::scheduled::count_ses_event;
use provisioning::App;
use serde_json::{json, Value};

fn ses_event(name: &str) -> Value {
    Event::load(name).0
}

async fn deliver(app: &App, event: Value) -> String {
    let answer = count_ses_event(app, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    answer["outcome"].as_str().unwrap().to_string()
}

async fn counters(app: &App) -> Value {
    let listed = list(app, "alice", &[]).await.1;
    let account = &listed["accounts"][0];
    json!([
        account["emails_sent_today"],
        account["emails_sent_month"],
        account["bounces_month"],
        account["complaints_month"],
    ])
}

async fn ses_reports_are_counted_once_against_their_sender(world: &impl World) {
    let app = world.app();
    let created = create_as(&app, "alice", json!({ "username": "support" })).await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(counters(&app).await, json!([0, 0, 0, 0]));

    for name in ["ses-send", "ses-delivery", "ses-bounce", "ses-complaint"] {
        assert_eq!(deliver(&app, ses_event(name)).await, "counted", "{name}");
    }
    // EventBridge delivers at least once: the same event again counts nothing.
    let again = world.app();
    assert_eq!(deliver(&again, ses_event("ses-send")).await, "duplicate");
    assert_eq!(deliver(&app, ses_event("ses-reject")).await, "not_counted");
    assert_eq!(counters(&app).await, json!([1, 1, 1, 1]));
    let listed = list(&app, "alice", &[]).await.1;
    assert!(listed["accounts"][0]["stats_updated_at"].is_string());
    assert!(listed["accounts"][0]["stats_unavailable_reason"].is_null());
}

async fn the_envelope_sender_attributes_when_the_caller_is_not_an_address(world: &impl World) {
    let app = world.app();
    create_as(&app, "alice", json!({ "username": "support" })).await;
    let mut event = ses_event("ses-send");
    // An IAM user named by a hash (addresses over 64 characters) or a role.
    event["detail"]["mail"]["tags"]["ses:caller-identity"] = json!(["ses-smtp-user.20261125"]);
    event["detail"]["mail"]["messageId"] = json!("another-message");
    assert_eq!(deliver(&app, event).await, "counted");
    assert_eq!(counters(&app).await[0], 1);
}

async fn reports_of_addresses_we_do_not_manage_change_nothing(world: &impl World) {
    let app = world.app();
    create_as(&app, "alice", json!({ "username": "support" })).await;
    let mut stranger = ses_event("ses-send");
    stranger["detail"]["mail"]["tags"]["ses:caller-identity"] = json!(["sales@example.com"]);
    stranger["detail"]["mail"]["source"] = json!("sales@example.com");
    assert_eq!(deliver(&app, stranger).await, "not_ours");
    let mut unreadable = ses_event("ses-send");
    unreadable["source"] = json!("aws.s3");
    assert_eq!(deliver(&app, unreadable).await, "unreadable");
    assert_eq!(counters(&app).await, json!([0, 0, 0, 0]));
}

/// Counters roll over by their key at midnight and at the month's end
/// (UTC), read with the clock moved on: no reset job.
async fn counters_roll_over_at_midnight_and_month_end(world: &impl World) {
    let app = world.app();
    create_as(&app, "alice", json!({ "username": "support" })).await;
    let mut late = ses_event("ses-send");
    late["time"] = json!("2026-11-30T23:59:30Z");
    assert_eq!(deliver(&app, late).await, "counted");

    // The world's clock starts at 2026-11-25 09:00.
    world
        .clock()
        .advance(Duration::days(5) + Duration::hours(14) + Duration::minutes(59));
    assert_eq!(
        counters(&app).await,
        json!([1, 1, 0, 0]),
        "23:59 on 30 November"
    );
    world.clock().advance(Duration::minutes(2));
    assert_eq!(
        counters(&app).await,
        json!([0, 0, 0, 0]),
        "00:01 on 1 December"
    );
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        ses_reports_are_counted_once_against_their_sender,
        the_envelope_sender_attributes_when_the_caller_is_not_an_address,
        reports_of_addresses_we_do_not_manage_change_nothing,
        counters_roll_over_at_midnight_and_month_end,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        ses_reports_are_counted_once_against_their_sender,
        the_envelope_sender_attributes_when_the_caller_is_not_an_address,
        reports_of_addresses_we_do_not_manage_change_nothing,
        counters_roll_over_at_midnight_and_month_end,
    );
}
