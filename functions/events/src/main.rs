use lambda_http::lambda_runtime::{self, service_fn};
use lambda_http::Error;
use provisioning::{scheduled, telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = App::from_env().await?;
    lambda_runtime::run(service_fn(|event| scheduled::count_ses_event(&app, event))).await
}
