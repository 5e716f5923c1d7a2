//! Guard rails per address, on SQLite and on DynamoDB alike: SES-format
//! events (as EventBridge delivers them) for a sandbox address, many at
//! once, each through its own function process and in shuffled order, cross
//! a rail; the address is suspended exactly once (one audit entry, sending
//! stopped at the provider), whatever the order. A send limit lifts itself
//! at the next UTC day; a rate only by an administrator, or by the owner
//! after a rotation where `ADDRESS_SELF_RESUME` allows.

use std::sync::Arc;

use chrono::Duration;
use integration_tests::calls::{
    account_action_as, create_as, list, reconcile, send, Route, ADMINS,
};
use integration_tests::events::Event;
use integration_tests::fakes::NamedAs;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{policy, world_tests};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::clock::Clock;
use provisioning::config::AuthMode;
use provisioning::domain::{EmailAddress, GuardRails, ProviderKind, UserId};
use provisioning::lifecycle::JsonLinesSink;
use provisioning::providers::SandboxProvider;
use provisioning::scheduled::count_ses_event;
use provisioning::service::{CompanyDirectories, Policy, ProviderOffer};
use provisioning::store::AuditAction;
use provisioning::App;
use serde_json::{json, Value};

const ADDRESS: &str = "support@example.com";

fn rails_policy(rails: GuardRails) -> Policy {
    let mut policy = policy(10);
    policy.access.admin_groups = vec![ADMINS.into()];
    policy.guard_rails = rails;
    policy
}

fn app_under(world: &dyn World, sandbox: &Arc<SandboxProvider>, rails: GuardRails) -> App {
    world.parts(sandbox.clone()).app_under(
        rails_policy(rails),
        CompanyDirectories::none(),
        AuthMode::Jwt,
    )
}

/// An SES event of `kind` (`send`, `bounce`, `complaint`) from ADDRESS,
/// message `n`, happening now.
fn ses_event(world: &dyn World, kind: &str, n: usize) -> Value {
    let mut event = Event::load(&format!("ses-{kind}")).0;
    event["detail"]["mail"]["messageId"] = json!(format!("guard-rails-{n}"));
    event["time"] = json!(world
        .clock()
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    event
}

/// Delivers every event at once, each through its own function process,
/// in the order given; one refused (the account busy with another's
/// suspension) is delivered again, as EventBridge retries. Answers the
/// rails each delivery reported crossing.
async fn deliver_at_once(
    world: &dyn World,
    sandbox: &Arc<SandboxProvider>,
    rails: GuardRails,
    events: Vec<Value>,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for event in events {
        let app = app_under(world, sandbox, rails);
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let delivered =
                    count_ses_event(&app, LambdaEvent::new(event.clone(), Context::default()))
                        .await;
                if let Ok(answer) = delivered {
                    return answer["suspended"].as_str().map(str::to_string);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("an event was refused twenty times");
        }));
    }
    let mut crossed = Vec::new();
    for task in tasks {
        crossed.extend(task.await.unwrap());
    }
    crossed
}

/// A deterministic shuffle: the same mixed order on every run.
fn shuffled(mut events: Vec<Value>) -> Vec<Value> {
    let len = events.len();
    for i in 0..len {
        events.swap(i, (i * 7 + 3) % len);
    }
    events
}

async fn suspensions(world: &dyn World) -> Vec<AuditAction> {
    world
        .store()
        .audit
        .audit_trail(&UserId::parse("alice").unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| matches!(action, AuditAction::Suspended(_) | AuditAction::Resumed))
        .collect()
}

async fn listed(app: &App) -> Value {
    list(app, "alice", &[]).await.1["accounts"][0].clone()
}

/// Alice's support@ at the sandbox, and its password.
async fn created(app: &App) -> String {
    let (status, body) = create_as(app, "alice", json!({ "username": "support" })).await;
    assert_eq!(status, 201, "{body}");
    body["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn enable_as_admin(app: &App) -> (u16, Value) {
    let event = Event::load("rotate-credentials")
        .without_header("idempotency-key")
        .user("root-admin")
        .claim("cognito:groups", &format!("[{ADMINS}]"))
        .account_action(ADDRESS, "enable");
    send(app, Route::Manage, &event).await
}

fn address() -> EmailAddress {
    EmailAddress::parse(ADDRESS).unwrap()
}

async fn a_send_limit_suspends_once_and_lifts_itself_the_next_utc_day(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let rails = GuardRails {
        daily_send_limit: Some(5),
        ..GuardRails::default()
    };
    let app = app_under(world, &sandbox, rails);
    let password = created(&app).await;
    // Later than the create: changes of one instant have no order.
    world.clock().advance(Duration::minutes(1));
    let sends = (0..12).map(|n| ses_event(world, "send", n)).collect();
    let crossed = deliver_at_once(world, &sandbox, rails, shuffled(sends)).await;
    assert_eq!(crossed, ["send_limit"], "one delivery suspends");
    assert_eq!(
        suspensions(world).await,
        [AuditAction::Suspended(
            provisioning::domain::SuspensionReason::SendLimit
        )]
    );
    assert!(!sandbox.accepts(&address(), &password), "sending stopped");
    let account = listed(&app).await;
    assert_eq!(account["status"], "suspended");
    assert_eq!(account["suspension"]["reason"], "send_limit");
    assert_eq!(account["suspension"]["lifted_by"], "next_utc_day");
    assert_eq!(account["suspension"]["lifts_at"], "2026-11-26T00:00:00Z");
    assert_eq!(account["guard_rails"]["enforced"], true);

    let refused = account_action_as(&app, "alice", ADDRESS, "enable", None).await;
    assert_eq!(
        (refused.0, refused.1["error"]["code"].as_str()),
        (409, Some("account_suspended"))
    );
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("restarts by itself"));
    let disable = account_action_as(&app, "alice", ADDRESS, "disable", None).await;
    assert_eq!(
        disable.0, 409,
        "a suspended address is not disabled over its suspension"
    );

    // The reconciler publishes what waits in the outbox: one suspension.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut reconciler = app_under(world, &sandbox, rails);
    reconciler.service = reconciler
        .service
        .with_events(Arc::new(JsonLinesSink::new(&file)));
    assert_eq!(
        reconcile(&reconciler).await["suspensions_lifted"],
        0,
        "not before midnight"
    );
    world.clock().advance(Duration::hours(15));
    assert_eq!(reconcile(&reconciler).await["suspensions_lifted"], 1);
    assert_eq!(
        reconcile(&reconciler).await["suspensions_lifted"],
        0,
        "once"
    );
    let published: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let told: Vec<(&str, &str)> = published
        .iter()
        .map(|event| {
            (
                event["detail-type"].as_str().unwrap(),
                event["detail"]["reason"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        told,
        [
            ("AccountCreated", "-"),
            ("AccountSuspended", "send_limit"),
            ("AccountResumed", "-")
        ]
    );
    assert_eq!(listed(&app).await["status"], "active");
    assert!(listed(&app).await["suspension"].is_null());
    assert!(sandbox.accepts(&address(), &password), "sending restarted");
    assert_eq!(suspensions(world).await.last(), Some(&AuditAction::Resumed));
}

async fn a_bounce_rate_suspends_once_and_only_an_administrator_lifts_it(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let rails = GuardRails::default();
    let app = app_under(world, &sandbox, rails);
    let password = created(&app).await;
    // 4 bounces in 60 sends: 6.7%, judged once 50 sends are counted, in
    // whatever order the events come (bounces first here).
    let mut events: Vec<Value> = (0..4).map(|n| ses_event(world, "bounce", n)).collect();
    events.extend((0..60).map(|n| ses_event(world, "send", 100 + n)));
    let crossed = deliver_at_once(world, &sandbox, rails, shuffled(events)).await;
    assert_eq!(crossed, ["bounce_rate"]);
    assert_eq!(suspensions(world).await.len(), 1);
    assert!(!sandbox.accepts(&address(), &password));
    let account = listed(&app).await;
    assert_eq!(
        (
            account["suspension"]["reason"].as_str(),
            account["suspension"]["lifted_by"].as_str()
        ),
        (Some("bounce_rate"), Some("administrator"))
    );

    // The owner cannot lift it, even after a rotation (no self-resume here).
    let rotated = account_action_as(&app, "alice", ADDRESS, "rotate-credentials", None).await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    let new_password = rotated.1["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !sandbox.accepts(&address(), &new_password),
        "a new credential of a suspended address does not send either"
    );
    let refused = account_action_as(&app, "alice", ADDRESS, "enable", None).await;
    assert_eq!(refused.1["error"]["code"], "account_suspended");

    let (status, enabled) = enable_as_admin(&app).await;
    assert_eq!(
        (status, enabled["status"].as_str()),
        (200, Some("active")),
        "{enabled}"
    );
    assert!(sandbox.accepts(&address(), &new_password));
    // The rest of the day is not held against it: more bounces today change nothing.
    let more: Vec<Value> = (10..14).map(|n| ses_event(world, "bounce", n)).collect();
    assert!(deliver_at_once(world, &sandbox, rails, more)
        .await
        .is_empty());
    assert_eq!(listed(&app).await["status"], "active");
}

async fn the_owner_resumes_a_complaint_rate_after_rotating_where_allowed(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let rails = GuardRails {
        self_resume: true,
        ..GuardRails::default()
    };
    let app = app_under(world, &sandbox, rails);
    created(&app).await;
    let mut events: Vec<Value> = (0..55).map(|n| ses_event(world, "send", n)).collect();
    events.push(ses_event(world, "complaint", 1000));
    let crossed = deliver_at_once(world, &sandbox, rails, shuffled(events)).await;
    assert_eq!(crossed, ["complaint_rate"]);
    assert_eq!(
        listed(&app).await["suspension"]["lifted_by"],
        "owner_after_rotation"
    );

    // Later than the suspension: audit entries of one instant have no order.
    world.clock().advance(Duration::minutes(1));
    let early = account_action_as(&app, "alice", ADDRESS, "enable", None).await;
    assert_eq!(
        early.1["error"]["code"], "account_suspended",
        "not before a rotation"
    );
    let rotated = account_action_as(&app, "alice", ADDRESS, "rotate-credentials", None).await;
    let new_password = rotated.1["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let enabled = account_action_as(&app, "alice", ADDRESS, "enable", None).await;
    assert_eq!(enabled.0, 200, "{}", enabled.1);
    assert!(sandbox.accepts(&address(), &new_password));
    assert_eq!(
        suspensions(world).await,
        [
            AuditAction::Suspended(provisioning::domain::SuspensionReason::ComplaintRate),
            AuditAction::Resumed
        ]
    );
}

/// Locally (`SES_EVENT_TIME=arrival`) the event files of `events/`, dated
/// days ago, count today: invoking `events/ses-send.json` suspends an address
/// at its daily limit of one.
async fn an_event_file_counts_today_where_events_count_on_arrival(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let rails = GuardRails {
        daily_send_limit: Some(1),
        ..GuardRails::default()
    };
    world.clock().advance(Duration::days(5));
    let app = app_under(world, &sandbox, rails).with_ses_events_on_arrival(true);
    created(&app).await;
    let fixture = Event::load("ses-send").0;
    let answer = count_ses_event(&app, LambdaEvent::new(fixture, Context::default()))
        .await
        .unwrap();
    assert_eq!(answer["suspended"], "send_limit", "{answer}");
    assert_eq!(listed(&app).await["emails_sent_today"], 1);
}

/// Where the provider does not report per address, nothing is judged, and
/// the list and the policy say why.
async fn providers_without_reports_per_address_say_why_not(world: &dyn World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = world
        .parts(Arc::new(NamedAs(ProviderKind::Ses, sandbox.clone())))
        .app_under(
            rails_policy(GuardRails::default()),
            CompanyDirectories::none(),
            AuthMode::Jwt,
        );
    created(&app).await;
    assert_eq!(
        listed(&app).await["guard_rails"],
        json!({ "enforced": true })
    );

    let mut microsoft = rails_policy(GuardRails::default());
    microsoft.providers = ProviderOffer::new(ProviderKind::Microsoft365, []);
    let other = world
        .parts(Arc::new(NamedAs(
            ProviderKind::Microsoft365,
            sandbox.clone(),
        )))
        .app_under(microsoft, CompanyDirectories::none(), AuthMode::Jwt);
    let (status, body) = create_as(&other, "bob", json!({ "username": "sales" })).await;
    assert_eq!(status, 201, "{body}");
    let bobs = list(&other, "bob", &[]).await.1["accounts"][0].clone();
    assert_eq!(bobs["guard_rails"]["enforced"], false);
    assert!(bobs["guard_rails"]["why_not"]
        .as_str()
        .unwrap()
        .contains("daily usage report"));
    let policy = send(&other, Route::List, &Event::load("policy").user("bob"))
        .await
        .1;
    assert_eq!(policy["guard_rails"]["max_bounce_rate_percent"], 5.0);
    assert_eq!(policy["guard_rails"]["max_complaint_rate_percent"], 0.1);
    assert_eq!(policy["guard_rails"]["minimum_sends"], 50);
    assert_eq!(
        policy["provider_details"][0]["guard_rails"]["enforced"],
        false
    );
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_send_limit_suspends_once_and_lifts_itself_the_next_utc_day,
        a_bounce_rate_suspends_once_and_only_an_administrator_lifts_it,
        the_owner_resumes_a_complaint_rate_after_rotating_where_allowed,
        providers_without_reports_per_address_say_why_not,
        an_event_file_counts_today_where_events_count_on_arrival,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_send_limit_suspends_once_and_lifts_itself_the_next_utc_day,
        a_bounce_rate_suspends_once_and_only_an_administrator_lifts_it,
        the_owner_resumes_a_complaint_rate_after_rotating_where_allowed,
        providers_without_reports_per_address_say_why_not,
        an_event_file_counts_today_where_events_count_on_arrival,
    );
}
