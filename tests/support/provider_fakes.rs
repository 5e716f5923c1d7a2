//! What the provider adapter tests share: settings given in the test, an
//! HTTP client with quick retries, the address they provision, fixtures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use provisioning::domain::{DisplayName, EmailAddress, Username};
use provisioning::providers::http::{ProviderHttp, RetryPolicy};
use provisioning::secrets::ProviderSettings;

/// Provider settings that are exactly `pairs`.
pub fn settings(pairs: &[(&str, &str)]) -> Arc<ProviderSettings> {
    let values: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(ProviderSettings::new(
        None,
        move |name| values.get(name).cloned(),
        Duration::ZERO,
    ))
}

/// Retries quick enough for tests; the same code paths as production.
pub fn http() -> ProviderHttp {
    ProviderHttp::new(RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
    })
}

/// `support@example.com`, "Support Team".
pub fn support() -> (EmailAddress, DisplayName) {
    let address = EmailAddress::parse("support@example.com").unwrap();
    (
        address,
        DisplayName::parse(Some("Support Team"), &Username::parse("support").unwrap()).unwrap(),
    )
}

/// A file of `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}
