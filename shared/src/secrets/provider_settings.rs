use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use tokio::sync::Mutex;

use super::{backend, SecretsError};

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The providers' keys (`SENDGRID_API_KEY`, `MICROSOFT_CLIENT_SECRET`…):
/// read from the JSON secret `PROVIDER_SECRET_ID` names, kept for `ttl` per
/// execution environment so a rotation reaches running functions, with the
/// environment variable of the same name as the fallback (local runs).
/// No `Debug`: nothing here may be printed.
pub struct ProviderSettings {
    secret: Option<(Client, String)>,
    environment: Lookup,
    ttl: Duration,
    cached: Mutex<Option<(Instant, HashMap<String, String>)>>,
}

pub const PROVIDER_SETTINGS_TTL: Duration = Duration::from_secs(300);

impl ProviderSettings {
    pub fn new(
        secret: Option<(Client, String)>,
        environment: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        ttl: Duration,
    ) -> Self {
        Self {
            secret,
            environment: Box::new(environment),
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The value of `key`: the secret's first, else the environment's.
    pub async fn get(&self, key: &str) -> Result<Option<String>, SecretsError> {
        if let Some((client, secret_id)) = &self.secret {
            let mut cached = self.cached.lock().await;
            let fresh = cached
                .as_ref()
                .is_some_and(|(read_at, _)| read_at.elapsed() < self.ttl);
            if !fresh {
                *cached = Some((Instant::now(), read_secret(client, secret_id).await?));
            }
            if let Some(value) = cached.as_ref().and_then(|(_, values)| values.get(key)) {
                return Ok(Some(value.clone()));
            }
        }
        Ok((self.environment)(key).filter(|value| !value.is_empty()))
    }
}

async fn read_secret(
    client: &Client,
    secret_id: &str,
) -> Result<HashMap<String, String>, SecretsError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(backend)?;
    let malformed = || SecretsError::MalformedProviderSecret {
        secret_id: secret_id.to_string(),
    };
    serde_json::from_str(output.secret_string().ok_or_else(malformed)?).map_err(|_| malformed())
}
