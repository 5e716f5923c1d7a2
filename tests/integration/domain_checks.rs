//! The domain checks against a real name server (`support/dns.rs`: zone
//! files served on loopback): each zone of the issue gives the verdict it
//! must, a broken or silent name server gives `unknown` within the budget,
//! and answers are cached for their TTL. Then the routes: the
//! administrators' domains page, a create's warnings, and a create refused
//! where the provider (SES on moto, SendGrid's fake) does not send for the
//! domain; no route answers 500 on any zone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::calls::{admin_as, assert_error, create_as, send, Route, ADMINS};
use integration_tests::dns::{
    domain_checks, test_dns, test_resolver, CNAME_LOOP, DEEP_SPF, NO_DKIM, NO_DMARC, READY,
    SERVFAIL, SILENT, TWO_SPF,
};
use integration_tests::events::Event;
use integration_tests::provider_fakes::sendgrid::{sendgrid_at, SendGrid};
use integration_tests::provider_fakes::ses_provider;
use integration_tests::worlds::{SqliteWorld, World};
use integration_tests::{moto, policy};
use provisioning::config::AuthMode;
use provisioning::dns::{Dns, DnsAnswer, RecordKind};
use provisioning::domain::mail_dns::{CheckKind, CheckStatus, DomainCheck};
use provisioning::domain::{DomainName, EmailAddress};
use provisioning::providers::{iam_user_name, MailProvider, SandboxProvider};
use provisioning::service::{
    CompanyDirectories, DomainReport, Domains, ProviderOffer, DOMAIN_CHECK_BUDGET,
};
use provisioning::App;
use serde_json::{json, Value};

async fn sandbox_report(domain: &str) -> DomainReport {
    domain_checks()
        .report(
            &DomainName::parse(domain).unwrap(),
            &SandboxProvider::default(),
        )
        .await
}

fn check(report: &DomainReport, kind: CheckKind) -> &DomainCheck {
    report
        .checks
        .iter()
        .find(|check| check.check == kind)
        .unwrap_or_else(|| panic!("no {} check in {report:?}", kind.as_str()))
}

fn statuses(report: &DomainReport) -> Vec<(&'static str, &'static str)> {
    report
        .checks
        .iter()
        .map(|check| (check.check.as_str(), check.status.as_str()))
        .collect()
}

#[tokio::test]
async fn a_correct_domain_passes_every_check() {
    let report = sandbox_report(READY).await;
    assert_eq!(
        statuses(&report),
        [("mx", "ok"), ("spf", "ok"), ("dkim", "ok"), ("dmarc", "ok")],
        "{report:?}"
    );
    assert!(report.ready());
    assert_eq!(
        check(&report, CheckKind::Dmarc).message,
        "DMARC policy quarantine, with aggregate reports"
    );
}

#[tokio::test]
async fn a_missing_dkim_key_is_missing_with_the_record_to_add() {
    let report = sandbox_report(NO_DKIM).await;
    let dkim = check(&report, CheckKind::Dkim);
    assert_eq!(dkim.status, CheckStatus::Missing, "{dkim:?}");
    assert!(
        dkim.message
            .contains("sandbox._domainkey.nodkim.test is missing"),
        "{dkim:?}"
    );
    assert_eq!(
        dkim.expected.as_deref(),
        Some("sandbox._domainkey.nodkim.test TXT \"v=DKIM1; k=rsa; p=<the public key your admin console gives>\"")
    );
    // Mail still goes out: the sandbox has no verdict that stops it.
    assert!(report.ready());
    assert_eq!(check(&report, CheckKind::Spf).status, CheckStatus::Ok);
}

#[tokio::test]
async fn two_spf_records_are_wrong() {
    let report = sandbox_report(TWO_SPF).await;
    let spf = check(&report, CheckKind::Spf);
    assert_eq!(spf.status, CheckStatus::Wrong, "{spf:?}");
    assert!(spf.message.contains("has 2 SPF records"), "{spf:?}");
    assert!(spf.found.as_deref().unwrap().contains(" | "), "{spf:?}");
}

#[tokio::test]
async fn spf_over_ten_lookups_through_nested_includes_is_wrong() {
    let report = sandbox_report(DEEP_SPF).await;
    let spf = check(&report, CheckKind::Spf);
    assert_eq!(spf.status, CheckStatus::Wrong, "{spf:?}");
    assert!(spf.message.contains("needs 13 DNS lookups"), "{spf:?}");
}

#[tokio::test]
async fn a_missing_dmarc_record_is_missing_with_the_record_to_add() {
    let report = sandbox_report(NO_DMARC).await;
    let dmarc = check(&report, CheckKind::Dmarc);
    assert_eq!(dmarc.status, CheckStatus::Missing, "{dmarc:?}");
    assert_eq!(
        dmarc.expected.as_deref(),
        Some("v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc.test")
    );
    assert!(
        dmarc.message.contains("at _dmarc.nodmarc.test"),
        "{dmarc:?}"
    );
}

#[tokio::test]
async fn a_cname_loop_is_unknown_not_an_error() {
    let report = sandbox_report(CNAME_LOOP).await;
    assert_eq!(check(&report, CheckKind::Spf).status, CheckStatus::Ok);
    for kind in [CheckKind::Dmarc, CheckKind::Dkim] {
        let looped = check(&report, kind);
        assert_eq!(looped.status, CheckStatus::Unknown, "{looped:?}");
        assert!(looped.message.contains("a CNAME loop: "), "{looped:?}");
    }
}

#[tokio::test]
async fn a_name_server_answering_servfail_gives_unknown() {
    let report = sandbox_report(SERVFAIL).await;
    assert_eq!(
        statuses(&report),
        [
            ("mx", "unknown"),
            ("spf", "unknown"),
            ("dkim", "unknown"),
            ("dmarc", "unknown")
        ],
        "{report:?}"
    );
    assert!(
        check(&report, CheckKind::Spf).message.contains("SERVFAIL")
            || check(&report, CheckKind::Spf)
                .message
                .contains("Server Failure"),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_name_server_that_never_answers_gives_unknown_within_the_budget() {
    let started = Instant::now();
    let report = sandbox_report(SILENT).await;
    let took = started.elapsed();
    assert!(
        report
            .checks
            .iter()
            .all(|check| check.status == CheckStatus::Unknown),
        "{report:?}"
    );
    // The budget, and a margin for a loaded machine; never each query's
    // timeout one after the other.
    assert!(
        took < DOMAIN_CHECK_BUDGET + Duration::from_secs(1),
        "the checks took {took:?}"
    );
}

#[tokio::test]
async fn answers_are_kept_for_their_ttl() {
    let dns = test_resolver();
    let name = "ttl-probe.example.com";
    let first = dns.lookup(name, RecordKind::Txt).await;
    assert_eq!(first, DnsAnswer::Records(vec!["kept for 300 s".into()]));
    let asked = test_dns().queries_for(name);
    assert_eq!(asked, 1);
    let again = dns.lookup(name, RecordKind::Txt).await;
    assert_eq!(again, first);
    assert_eq!(
        test_dns().queries_for(name),
        asked,
        "the second lookup was answered from the cache"
    );
    // Another execution environment asks again.
    test_resolver().lookup(name, RecordKind::Txt).await;
    assert_eq!(test_dns().queries_for(name), asked + 1);
}

/// A function process offering `domains` (the first the default) at
/// `provider`, with `ADMINS` as its administrators.
fn app_on(world: &SqliteWorld, provider: Arc<dyn MailProvider>, domains: &[&str]) -> App {
    let mut policy = policy(50);
    policy.access.admin_groups = vec![ADMINS.into()];
    let mut names = domains
        .iter()
        .map(|domain| DomainName::parse(domain).unwrap());
    policy.domains = Domains::new(names.next().unwrap(), names);
    policy.providers = ProviderOffer::new(provider.kind(), []);
    world
        .parts(provider)
        .app_under(policy, CompanyDirectories::none(), AuthMode::Jwt)
}

const EVERY_ZONE: [&str; 8] = [
    READY, NO_DKIM, TWO_SPF, DEEP_SPF, NO_DMARC, CNAME_LOOP, SERVFAIL, SILENT,
];

fn status_of<'a>(domain: &'a Value, check: &str) -> &'a str {
    domain["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|found| found["check"] == check)
        .and_then(|found| found["status"].as_str())
        .unwrap_or_else(|| panic!("no {check} check in {domain}"))
}

#[tokio::test]
async fn the_domains_page_gives_every_check_of_every_domain() {
    let world = SqliteWorld::new();
    let app = app_on(&world, Arc::new(SandboxProvider::default()), &EVERY_ZONE);
    let (status, body) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    assert_eq!(status, 200, "{body}");
    let domains = body["domains"].as_array().unwrap();
    let listed: Vec<&str> = domains
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    assert_eq!(listed, EVERY_ZONE);
    let by_name = |name: &str| domains.iter().find(|d| d["domain"] == name).unwrap();
    let ready = by_name(READY);
    assert_eq!(ready["provider"], "sandbox");
    assert_eq!(ready["ready"], true);
    for check in ready["checks"].as_array().unwrap() {
        assert_eq!(check["status"], "ok", "{check}");
        for field in ["check", "status", "found", "expected", "message"] {
            assert!(check.get(field).is_some(), "{field} in {check}");
        }
    }
    assert_eq!(status_of(by_name(NO_DKIM), "dkim"), "missing");
    assert_eq!(status_of(by_name(TWO_SPF), "spf"), "wrong");
    assert_eq!(status_of(by_name(DEEP_SPF), "spf"), "wrong");
    assert_eq!(status_of(by_name(NO_DMARC), "dmarc"), "missing");
    assert_eq!(status_of(by_name(CNAME_LOOP), "dmarc"), "unknown");
    assert_eq!(status_of(by_name(SERVFAIL), "mx"), "unknown");
    assert_eq!(status_of(by_name(SILENT), "spf"), "unknown");

    let (status, body) = send(
        &app,
        Route::Admin,
        &Event::load("admin-domains").user("someone"),
    )
    .await;
    assert_error(&(status, body), 403, "forbidden");
}

#[tokio::test]
async fn a_create_carries_the_failing_checks_as_warnings_and_never_a_500() {
    let world = SqliteWorld::new();
    let app = app_on(&world, Arc::new(SandboxProvider::default()), &EVERY_ZONE);
    let (status, clean) = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(status, 201, "{clean}");
    assert!(clean.get("warnings").is_none(), "{clean}");

    let (status, warned) = create_as(
        &app,
        "alice",
        json!({ "username": "contact", "domain": NO_DMARC }),
    )
    .await;
    assert_eq!(status, 201, "{warned}");
    let warnings = warned["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warned}");
    assert_eq!(warnings[0]["check"], "dmarc");
    assert_eq!(warnings[0]["status"], "missing");
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .contains("_dmarc.nodmarc.test"));

    for domain in EVERY_ZONE {
        let (status, body) = create_as(
            &app,
            "bob",
            json!({ "username": "support", "domain": domain }),
        )
        .await;
        assert_eq!(status, 201, "{domain}: {body}");
    }
}

/// A domain of its own on the shared emulator.
fn unique_domain() -> String {
    format!("{}.example.com", moto::unique("ses").replace('_', "-"))
}

#[tokio::test]
async fn an_ses_identity_that_is_not_verified_refuses_creates_and_makes_nothing() {
    let config = moto::sdk_config().await;
    let (ses, iam) = (
        aws_sdk_sesv2::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
    );
    let domain = unique_domain();
    let world = SqliteWorld::new();
    let app = app_on(&world, Arc::new(ses_provider(&ses, &iam, None)), &[&domain]);

    let refused = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_error(&refused, 503, "domain_not_ready");
    let message = refused.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains(&format!("{domain} is not an identity of this SES account")),
        "{refused:?}"
    );
    let address = EmailAddress::parse(&format!("contact@{domain}")).unwrap();
    assert!(
        iam.get_user()
            .user_name(iam_user_name(&address))
            .send()
            .await
            .is_err(),
        "no IAM user was made"
    );
    let policy = || async {
        let (status, policy) = send(&app, Route::List, &Event::load("policy").user("alice")).await;
        assert_eq!(status, 200, "{policy}");
        policy["domains"][0].clone()
    };
    let unchecked = policy().await;
    assert_eq!(unchecked["ready"], Value::Null, "{unchecked}");
    assert!(unchecked["reason"]
        .as_str()
        .unwrap()
        .starts_with("not checked yet"));
    let (_, page) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    assert_eq!(page["domains"][0]["ready"], false, "{page}");
    assert_eq!(status_of(&page["domains"][0], "provider"), "missing");
    // The page's checks are kept for the policy, which checks nothing itself.
    let checked = policy().await;
    assert_eq!(checked["ready"], false, "{checked}");
    assert_eq!(checked["reason"], page["domains"][0]["reason"]);
    assert_eq!(checked["failing_checks"], 5, "{checked}");

    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let (status, created) = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(status, 201, "{created}");
    let (_, page) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    assert_eq!(page["domains"][0]["ready"], true, "{page}");
    assert_eq!(status_of(&page["domains"][0], "provider"), "ok");
    assert_eq!(policy().await["ready"], true);
}

#[tokio::test]
async fn sendgrid_domain_authentication_and_its_dkim_records_are_checked() {
    let (_server, fake, provider) = SendGrid::start().await;
    let world = SqliteWorld::new();
    let app = app_on(&world, Arc::new(provider), &[READY]);
    let (_, page) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    let domain = &page["domains"][0];
    assert_eq!(domain["ready"], true, "{page}");
    assert_eq!(status_of(domain, "provider"), "ok");
    // The CNAMEs its API names are the ones the zone publishes.
    assert_eq!(status_of(domain, "dkim"), "ok", "{domain}");

    // The page asks afresh; a create trusts an `ok` a few minutes, and
    // forgets it once a fresh verdict is not `ok`.
    fake.invalidate_domain(READY);
    let (_, page) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    assert_eq!(page["domains"][0]["ready"], false, "{page}");
    assert_eq!(status_of(&page["domains"][0], "provider"), "wrong");
    assert!(page["domains"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("has not validated"));
    let refused = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_error(&refused, 503, "domain_not_ready");
}

#[tokio::test]
async fn a_provider_that_cannot_be_asked_is_unknown_on_the_page_and_refuses_creates() {
    let (server, _fake, _) = SendGrid::start().await;
    let world = SqliteWorld::new();
    // A key SendGrid refuses: its verdict cannot be read.
    let app = app_on(
        &world,
        Arc::new(sendgrid_at(&server.uri(), "SG.revoked")),
        &[READY],
    );
    let (status, page) = admin_as(&app, "admin", Event::load("admin-domains")).await;
    assert_eq!(status, 200, "{page}");
    let domain = &page["domains"][0];
    assert_eq!(status_of(domain, "provider"), "unknown", "{domain}");
    assert_eq!(domain["ready"], true, "not known to be unready: {domain}");
    assert_eq!(
        status_of(domain, "dkim"),
        "missing",
        "no CNAMEs were read from SendGrid"
    );
    let refused = create_as(&app, "alice", json!({ "username": "contact" })).await;
    // As for any provider call that fails: nothing is made.
    assert_error(&refused, 503, "provider_unavailable");
}
