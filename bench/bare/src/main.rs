//! A bare `lambda_http` function: the floor the benchmark compares against.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::Text("{\"hello\":\"world\"}".into())))
    }))
    .await
}
