//! Providers' usage as last read: the newest reading of each provider.

use chrono::Duration;
use provisioning::domain::{ProviderKind, RecordedUsage, Usage};

use super::{start, StoreHarness};

pub async fn the_newest_reading_of_each_provider_is_kept(harness: &dyn StoreHarness) {
    let store = harness.handle().await;
    assert!(store.usage.recorded_usage().await.unwrap().is_empty());
    let reading = |provider, used, seconds| RecordedUsage {
        provider,
        usage: Usage { used, limit: 100 },
        at: start() + Duration::seconds(seconds),
    };
    store
        .usage
        .record_usage(&reading(ProviderKind::Sandbox, 3, 10))
        .await
        .unwrap();
    store
        .usage
        .record_usage(&reading(ProviderKind::Sandbox, 5, 20))
        .await
        .unwrap();
    // A reading that arrives late does not replace a newer one.
    let other = harness.handle().await;
    other
        .usage
        .record_usage(&reading(ProviderKind::Sandbox, 1, 15))
        .await
        .unwrap();
    other
        .usage
        .record_usage(&reading(ProviderKind::Ses, 4999, 12))
        .await
        .unwrap();
    assert_eq!(
        other.usage.recorded_usage().await.unwrap(),
        [
            reading(ProviderKind::Sandbox, 5, 20),
            reading(ProviderKind::Ses, 4999, 12)
        ]
    );
}
