//! One binary for the scheduled jobs, so a deployment builds it once for
//! all their functions; each function's `JOB` says which it runs.

use lambda_http::lambda_runtime::{self, service_fn};
use lambda_http::Error;
use provisioning::scheduled::Job;
use provisioning::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let job = Job::from_env()?;
    let app = App::from_env().await?;
    lambda_runtime::run(service_fn(|event| job.run(&app, event))).await
}
