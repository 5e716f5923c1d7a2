//! Provider quotas: SES v2 `GetAccount` (against a fake of its REST API:
//! moto_server does not serve it) and SendGrid's credits (against a fake of
//! `GET /v3/user/credits`), then the hourly job that publishes them, each
//! provider's capacity and the account count as metrics, read back through
//! the telemetry capture; and the 6-hourly domain checks' metrics, which
//! the same capture reads.

use std::sync::Arc;

use integration_tests::calls::create_as;
use integration_tests::moto;
use integration_tests::provider_fakes::sendgrid::{
    sendgrid_at, sendgrid_error, SendGrid, ADMIN_KEY,
};
use integration_tests::worlds::{app_offering, SqliteWorld, World};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::providers::{
    MailProvider, SandboxProvider, SendGridProvider, SesProvider, SesSettings,
};
use provisioning::scheduled::{check_domains, publish_quotas};
use provisioning::telemetry::captured_metrics;
use serde_json::{json, Value};
use wiremock::matchers::{header, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// SES v2 `GetAccount` as AWS documents its answer; only a SigV4-signed
/// request for the `ses` service is answered.
async fn ses_fake() -> (MockServer, SesProvider) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/email/account"))
        .and(header_regex(
            "authorization",
            r"^AWS4-HMAC-SHA256 Credential=testing/\d{8}/us-east-1/ses/aws4_request",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "DedicatedIpAutoWarmupEnabled": false,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": true,
            "SendQuota": { "Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 41000.0 },
            "SendingEnabled": true,
            "SuppressionAttributes": { "SuppressedReasons": ["BOUNCE", "COMPLAINT"] }
        })))
        .mount(&server)
        .await;
    let config =
        moto::sdk_config_at(&server.uri(), provisioning::aws::http_client(None).unwrap()).await;
    let provider = SesProvider::new(
        aws_sdk_sesv2::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
        SesSettings {
            region: "us-east-1".into(),
            iam_path: "/email-provisioning/".into(),
            configuration_set: None,
            permissions_boundary: None,
        },
    );
    (server, provider)
}

async fn sendgrid_fake(admin_key: &str) -> (MockServer, SendGridProvider) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/user/credits"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "remain": 200, "total": 1000, "overage": 0, "used": 800,
            "last_reset": "2026-11-01", "next_reset": "2026-12-01", "reset_frequency": "monthly"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/user/credits"))
        .respond_with(sendgrid_error(401, "authorization required"))
        .mount(&server)
        .await;
    let provider = sendgrid_at(&server.uri(), admin_key);
    (server, provider)
}

/// The metrics capture is the process's: one test reads it at a time
/// (`cargo test` runs a binary's tests on threads of one process).
static CAPTURE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn ses_reports_its_24_hour_quota_and_sendgrid_its_credits() {
    let (_ses_server, ses) = ses_fake().await;
    let quota = ses.sending_quota().await.unwrap().unwrap();
    assert_eq!(
        (quota.limit, quota.used, quota.period.as_str()),
        (50000.0, 41000.0, "24h")
    );
    assert!((quota.used_percent() - 82.0).abs() < 1e-9);

    let (_sendgrid_server, sendgrid) = sendgrid_fake(ADMIN_KEY).await;
    let quota = sendgrid.sending_quota().await.unwrap().unwrap();
    assert_eq!(
        (quota.limit, quota.used, quota.period.as_str()),
        (1000.0, 800.0, "monthly")
    );
    assert!(SandboxProvider::default()
        .sending_quota()
        .await
        .unwrap()
        .is_none());
}

/// The first value of `name` published with `dimension`.
fn metric(records: &[Value], name: &str, dimension: (&str, &str)) -> Option<f64> {
    values_of(records, name, dimension).first().copied()
}

/// The only test here that emits metrics: the capture is per process.
#[tokio::test]
async fn the_hourly_job_publishes_each_quota_and_the_account_count() {
    let _capture = CAPTURE.lock().await;
    let world = SqliteWorld::new();
    let creating = world.app();
    for username in ["contact", "sales"] {
        assert_eq!(
            create_as(&creating, "alice", json!({ "username": username }))
                .await
                .0,
            201
        );
    }
    let (_ses_server, ses) = ses_fake().await;
    let (_sendgrid_server, sendgrid) = sendgrid_fake(ADMIN_KEY).await;
    let (_refusing_server, refusing) = sendgrid_fake("SG.revoked").await;
    captured_metrics();

    // The two addresses are the sandbox's, which holds 8.
    let sandbox = SandboxProvider::default().with_capacity(Some(8));
    let app = app_offering(
        &world,
        vec![Arc::new(ses), Arc::new(sendgrid), Arc::new(sandbox)],
    );
    let answer = publish_quotas(&app, LambdaEvent::new(json!({}), Context::default()))
        .await
        .unwrap();
    let records = captured_metrics();
    assert_eq!(answer["accounts"], 2);
    assert_eq!(
        metric(&records, "QuotaUsedPercent", ("Provider", "ses")),
        Some(82.0)
    );
    assert_eq!(
        metric(&records, "QuotaUsedPercent", ("Provider", "sendgrid")),
        Some(80.0)
    );
    assert_eq!(
        metric(&records, "QuotaLimit", ("Provider", "ses")),
        Some(50000.0)
    );
    assert_eq!(
        metric(&records, "Accounts", ("Service", "email-provisioning")),
        Some(2.0)
    );
    // Capacity: the sandbox's by the store's count; the fullest provider's
    // share for the one alarm; SES's IAM (not faked here) counted as a failure.
    assert_eq!(
        metric(&records, "CapacityUsedPercent", ("Provider", "sandbox")),
        Some(25.0)
    );
    assert_eq!(
        metric(&records, "CapacityLimit", ("Provider", "sandbox")),
        Some(8.0)
    );
    assert_eq!(
        metric(
            &records,
            "CapacityUsedPercent",
            ("Service", "email-provisioning")
        ),
        Some(25.0)
    );
    assert_eq!(
        metric(&records, "CapacityReadFailures", ("Provider", "ses")),
        Some(1.0)
    );
    assert_eq!(
        answer["capacity"],
        json!([{ "provider": "sandbox", "used": 2, "limit": 8 }])
    );
    let kept = world.store().usage.recorded_usage().await.unwrap();
    assert_eq!(
        kept.iter()
            .map(|reading| (reading.provider.as_str(), reading.usage.used))
            .collect::<Vec<_>>(),
        [("sandbox", 2)]
    );

    // A provider that refuses is counted as a failure; the job still answers.
    let app = app_offering(&world, vec![Arc::new(refusing)]);
    publish_quotas(&app, LambdaEvent::new(json!({}), Context::default()))
        .await
        .unwrap();
    let records = captured_metrics();
    assert_eq!(
        metric(&records, "QuotaReadFailures", ("Provider", "sendgrid")),
        Some(1.0)
    );
    assert_eq!(
        metric(&records, "QuotaUsedPercent", ("Provider", "sendgrid")),
        None
    );
}

/// Every value of `name` published with `dimension`, in order.
fn values_of(records: &[Value], name: &str, dimension: (&str, &str)) -> Vec<f64> {
    records
        .iter()
        .filter(|record| record.get(name).is_some() && record[dimension.0] == dimension.1)
        .map(|record| record[name].as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_domain_checks_publish_each_domain_and_count_one_that_stops_being_ready() {
    let _capture = CAPTURE.lock().await;
    let (_server, fake, sendgrid) = SendGrid::start().await;
    let world = SqliteWorld::new();
    let app = app_offering(&world, vec![Arc::new(sendgrid)]);
    let run = || async {
        check_domains(&app, LambdaEvent::new(json!({}), Context::default()))
            .await
            .unwrap()
    };
    captured_metrics();

    let first = run().await;
    // example.com is authenticated at SendGrid; support.example.com never was.
    assert_eq!(
        first["domains"],
        json!([
            { "domain": "example.com", "provider": "sendgrid", "ready": true, "failing_checks": 0 },
            { "domain": "support.example.com", "provider": "sendgrid", "ready": false, "failing_checks": 3 },
        ]),
        "{first}"
    );
    assert_eq!(
        first["stopped_being_ready"], 0,
        "a domain never ready is not news"
    );

    fake.invalidate_domain("example.com");
    let second = run().await;
    assert_eq!(second["stopped_being_ready"], 1, "{second}");
    let third = run().await;
    assert_eq!(
        third["stopped_being_ready"], 0,
        "counted once, when it stopped"
    );

    let records = captured_metrics();
    assert_eq!(
        values_of(&records, "DomainReady", ("Domain", "example.com")),
        [1.0, 0.0, 0.0]
    );
    assert_eq!(
        values_of(&records, "DomainChecksFailing", ("Domain", "example.com")),
        [0.0, 1.0, 1.0]
    );
    assert_eq!(
        values_of(
            &records,
            "DomainsStoppedBeingReady",
            ("Service", "email-provisioning")
        ),
        [0.0, 1.0, 0.0]
    );
}
