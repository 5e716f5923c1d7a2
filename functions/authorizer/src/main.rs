use lambda_http::lambda_runtime::{self, service_fn};
use lambda_http::Error;
use provisioning::authorizer::{authorize, AuthorizerApp};
use provisioning::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = AuthorizerApp::from_env().await?;
    lambda_runtime::run(service_fn(|event| authorize(&app, event))).await
}
