//! HTTP edge: turns API Gateway requests into use-case calls and their
//! results into the JSON contract of `openapi.yaml` (docs/API.md). Errors
//! map to statuses in `error.rs`, and nowhere else.

mod admin;
mod admin_views;
mod error;
mod handlers;
mod keys;
mod request;
mod views;

pub use admin::admin_routes;
pub use admin_views::neutralized;
pub use error::ApiError;
pub use handlers::{check_availability, create, list_routes, manage_account, sendgrid_events};
pub use keys::key_routes;
pub use request::{bearer_token, MAX_BODY_BYTES};
