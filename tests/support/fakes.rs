use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use provisioning::clock::Clock;
use provisioning::domain::{DisplayName, EmailAddress};
use provisioning::providers::{MailProvider, ProviderError, ProvisionedAccount};

/// A clock the test moves by hand.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Self {
        Self(Mutex::new(
            Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
                .unwrap(),
        ))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::at(2026, 11, 25, 9, 0)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A provider that refuses or is down, for the failure paths of create.
pub struct BrokenProvider {
    pub error: ProviderError,
}

impl BrokenProvider {
    pub fn rejecting(message: &str) -> Self {
        Self {
            error: ProviderError::Rejected {
                provider: "sandbox",
                message: message.into(),
            },
        }
    }

    pub fn unavailable(message: &str) -> Self {
        Self {
            error: ProviderError::Unavailable {
                provider: "sandbox",
                message: message.into(),
            },
        }
    }
}

#[async_trait]
impl MailProvider for BrokenProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn provision(
        &self,
        _address: &EmailAddress,
        _display_name: &DisplayName,
    ) -> Result<ProvisionedAccount, ProviderError> {
        Err(self.error.clone())
    }

    async fn deprovision(&self, _provider_ref: &str) -> Result<(), ProviderError> {
        Ok(())
    }
}
