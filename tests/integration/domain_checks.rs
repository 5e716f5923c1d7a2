//! The domain checks against a real name server (`support/dns.rs`: zone
//! files served on loopback): each zone of the issue gives the verdict it
//! must, a broken or silent name server gives `unknown` within the budget,
//! and answers are cached for their TTL.

use std::time::{Duration, Instant};

use integration_tests::dns::{
    domain_checks, test_dns, test_resolver, CNAME_LOOP, DEEP_SPF, NO_DKIM, NO_DMARC, READY,
    SERVFAIL, SILENT, TWO_SPF,
};
use provisioning::dns::{Dns, DnsAnswer, RecordKind};
use provisioning::domain::mail_dns::{CheckKind, CheckStatus, DomainCheck};
use provisioning::domain::DomainName;
use provisioning::providers::SandboxProvider;
use provisioning::service::{DomainReport, DOMAIN_CHECK_BUDGET};

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
