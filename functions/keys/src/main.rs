use lambda_http::{service_fn, Error};
use provisioning::{http, telemetry, ReadApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = ReadApp::from_env().await?;
    lambda_http::run(service_fn(|req| http::key_routes(&app, req))).await
}
