use lambda_http::{service_fn, Error};
use provisioning::{http, telemetry, ReadApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = ReadApp::checking_from_env().await?;
    lambda_http::run(service_fn(|req| http::check_availability(&app, req))).await
}
