//! The functions EventBridge runs on a schedule rather than API Gateway.

use lambda_http::lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

use crate::App;

/// Every few minutes: clean up the creates that died (see
/// `Provisioning::recover_abandoned`). Answers how many it recovered.
pub async fn reconcile(app: &App, _event: LambdaEvent<Value>) -> Result<Value, lambda_http::Error> {
    let recovered = app.service.recover_abandoned().await?;
    tracing::info!(recovered, "reconciled abandoned creates");
    Ok(json!({ "recovered": recovered }))
}
