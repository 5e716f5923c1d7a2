use lambda_http::{service_fn, Error};
use provisioning::{http, telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = App::from_env().await?;
    lambda_http::run(service_fn(|req| http::admin_routes(&app, req))).await
}
