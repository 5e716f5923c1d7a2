//! Shared pieces of the integration tests: API Gateway events from `events/`,
//! an adjustable clock, providers that fail on purpose, and the store
//! conformance suite that every store backend must pass.

pub mod calls;
pub mod conformance;
pub mod dns;
pub mod events;
pub mod fakes;
pub mod moto;
pub mod provider_fakes;
pub mod worlds;

use std::path::Path;
use std::sync::Arc;

use provisioning::app::LOCAL_PASSWORD_KEY_FILE;
use provisioning::config::AuthMode;
use provisioning::domain::{DomainName, GuardRails, ProviderKind, ReservedNames, Username};
use provisioning::providers::{MailProvider, Providers};
use provisioning::secrets::{DataKeys, LocalDataKeys, Sealer};
use provisioning::service::{
    Access, CompanyDirectories, Directory, Domains, Policy, ProviderOffer, Provisioning,
};
use provisioning::store::{SqliteStore, Store};
use provisioning::App;

pub use fakes::TestClock;

pub const DOMAIN: &str = "example.com";
/// A second domain the tests' deployment offers.
pub const OTHER_DOMAIN: &str = "support.example.com";

pub fn policy(daily_create_limit: u32) -> Policy {
    Policy {
        domains: Domains::new(
            DomainName::parse(DOMAIN).unwrap(),
            [DomainName::parse(OTHER_DOMAIN).unwrap()],
        ),
        providers: ProviderOffer::new(ProviderKind::Sandbox, []),
        reserved: ReservedNames::with_extra([Username::parse("ceo").unwrap()]),
        daily_create_limit,
        daily_rotation_limit: 10,
        quarantine: chrono::Duration::days(30),
        audit_retention: provisioning::store::DEFAULT_AUDIT_RETENTION,
        access: Access::default(),
        guard_rails: GuardRails::default(),
    }
}

/// The parts of one function process, as `App::from_config` would wire them.
pub struct Parts {
    pub store: Store,
    /// The master key that seals passwords for replays.
    pub keys: Arc<dyn DataKeys>,
    pub provider: Arc<dyn MailProvider>,
    pub clock: Arc<TestClock>,
}

impl Parts {
    pub fn app(self, daily_create_limit: u32, auth_mode: AuthMode) -> App {
        self.app_under(
            policy(daily_create_limit),
            CompanyDirectories::none(),
            auth_mode,
        )
    }

    /// A function process under `policy`, asking `company` before it offers or makes an address.
    pub fn app_under(
        self,
        policy: Policy,
        company: CompanyDirectories,
        auth_mode: AuthMode,
    ) -> App {
        let directory =
            Directory::new(self.store, self.clock, policy).with_company_directories(company);
        App::new(
            Provisioning::new(
                directory,
                Providers::single(self.provider),
                Sealer::new(self.keys),
                crate::dns::domain_checks(),
            ),
            auth_mode,
        )
    }
}

/// A new handle on the SQLite file at `path`, as another function process would open it.
pub fn sqlite_at(path: &Path) -> Store {
    Store::of(SqliteStore::open(path).expect("open the SQLite store"))
}

/// The local master key beside the SQLite file at `path`.
pub fn local_keys_beside(path: &Path) -> Arc<dyn DataKeys> {
    Arc::new(LocalDataKeys::new(
        path.with_file_name(LOCAL_PASSWORD_KEY_FILE),
    ))
}
