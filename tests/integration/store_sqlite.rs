//! The store conformance suite on the embedded SQLite store, each handle a
//! separate connection to the same file, as separate processes would hold.

use std::path::PathBuf;

use async_trait::async_trait;
use integration_tests::conformance::StoreHarness;
use integration_tests::{sqlite_at, store_conformance_tests};
use provisioning::store::Store;
use tempfile::TempDir;

struct SqliteHarness {
    _dir: TempDir,
    path: PathBuf,
}

impl SqliteHarness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        Self { _dir: dir, path }
    }
}

#[async_trait]
impl StoreHarness for SqliteHarness {
    async fn handle(&self) -> Store {
        sqlite_at(&self.path)
    }
}

store_conformance_tests!(SqliteHarness::new());
