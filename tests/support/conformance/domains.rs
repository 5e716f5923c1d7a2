//! Each domain's readiness as last checked: the newest reading of each
//! domain at each provider, and the one it replaced.

use chrono::Duration;
use provisioning::domain::mail_dns::DomainReading;
use provisioning::domain::{DomainName, ProviderKind};

use super::{start, StoreHarness};

fn reading(domain: &str, provider: ProviderKind, ready: bool, minutes: i64) -> DomainReading {
    DomainReading {
        domain: DomainName::parse(domain).unwrap(),
        provider,
        ready,
        reason: (!ready).then(|| format!("{domain} is not verified")),
        failing: if ready { 0 } else { 2 },
        at: start() + Duration::minutes(minutes),
    }
}

pub async fn each_reading_replaces_the_one_before_and_answers_it(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    assert!(store.domains.domain_readings().await.unwrap().is_empty());
    let first = reading("example.com", ProviderKind::Ses, true, 0);
    assert_eq!(
        store.domains.record_domain_reading(&first).await.unwrap(),
        None
    );
    let other = harness.handle().await;
    let second = reading("example.com", ProviderKind::Ses, false, 360);
    assert_eq!(
        other.domains.record_domain_reading(&second).await.unwrap(),
        Some(first)
    );
    let elsewhere = reading("example.com", ProviderKind::Sendgrid, true, 360);
    let another = reading("another.example", ProviderKind::Ses, true, 360);
    for kept in [&elsewhere, &another] {
        assert_eq!(
            store.domains.record_domain_reading(kept).await.unwrap(),
            None
        );
    }
    assert_eq!(
        store.domains.domain_readings().await.unwrap(),
        [another, elsewhere, second]
    );
}
