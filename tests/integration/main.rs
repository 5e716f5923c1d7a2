//! The integration tests as one binary, so the whole dependency graph (the
//! AWS SDK above all) is linked once, not once per test file. Each module
//! is one area; the tests that need a process of their own (they capture
//! what the whole process logs or emits, or set its environment) are
//! binaries of their own beside this folder.

mod administration;
mod api_keys;
mod authorizer;
mod aws_backends;
mod aws_tls;
mod capacity;
mod crash_recovery;
mod create_reliability;
mod domain_checks;
mod domains;
mod guard_rails;
mod handlers;
mod hostile_input;
mod lifecycle;
mod lifecycle_events;
mod mfa;
mod provider_changes;
mod provider_marks;
mod provider_ses;
mod providers_http;
mod sealed_passwords;
mod security;
mod send_statistics;
mod sendgrid_webhook;
mod store_dynamodb;
mod store_sqlite;
mod usage_reports;
