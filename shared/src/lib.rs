//! email-provisioning: generic addresses on the company domain, created at a
//! cloud mail provider, with SMTP credentials handed back once.

pub mod app;
pub mod authorizer;
pub mod aws;
pub mod clock;
pub mod config;
pub mod deadline;
pub mod dns;
pub mod domain;
pub mod events;
pub mod http;
pub mod lifecycle;
pub mod providers;
pub mod scheduled;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::{App, ReadApp, StartupError, WebhookApp};
