use lambda_http::{service_fn, Error};
use provisioning::{http, telemetry, WebhookApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = WebhookApp::from_env().await?;
    lambda_http::run(service_fn(|req| http::sendgrid_events(&app, req))).await
}
