//! The HTTP client the provider adapters share: built once, a timeout per
//! call, bounded retries with exponential backoff and full jitter for
//! timeouts, 5xx and 429 (whose `Retry-After` is honoured), and the
//! provider's own error message, never a credential, in the error.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};

use super::ProviderError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Calls in all, the first one included.
    pub attempts: u32,
    pub base_delay: Duration,
    /// The longest wait between two calls; a `Retry-After` beyond it is not waited for.
    pub max_delay: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Fits inside the 30 s the `create` function is given.
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(8),
        }
    }
}

#[derive(Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl ProviderHttp {
    pub fn new(policy: RetryPolicy) -> Self {
        // ring, as for the AWS clients: aws-lc would seed jitter entropy at
        // the first handshake. Already installed is as good as installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .user_agent(concat!("email-provisioning/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS client can be built");
        Self { client, policy }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The body of a success response as `T`; a body that is not is the provider's fault.
    pub async fn json<T: serde::de::DeserializeOwned>(
        provider: &'static str,
        response: Response,
    ) -> Result<T, ProviderError> {
        response
            .json()
            .await
            .map_err(|error| ProviderError::Unavailable {
                provider,
                message: format!("unexpected answer: {}", error.without_url()),
            })
    }

    /// Sends the request `build` makes (again on each retry) and returns a
    /// success response, or one whose status is in `also_fine` (a 404 on a
    /// delete, say); any other outcome is a `ProviderError`.
    pub async fn send(
        &self,
        provider: &'static str,
        also_fine: &[StatusCode],
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ProviderError> {
        let unavailable = |message: String| ProviderError::Unavailable { provider, message };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.attempts;
            let response = match build().send().await {
                Ok(response) => response,
                Err(error) if last => {
                    return Err(unavailable(format!(
                        "no answer after {attempt} tries: {}",
                        describe(error)
                    )))
                }
                Err(_) => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() || also_fine.contains(&status) {
                return Ok(response);
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && !last {
                match retry_after(&response) {
                    Some(wait) if wait > self.policy.max_delay => {
                        return Err(unavailable(format!(
                            "rate limited for {} s (HTTP 429)",
                            wait.as_secs()
                        )))
                    }
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => tokio::time::sleep(self.backoff(attempt)).await,
                }
                continue;
            }
            let message = format!(
                "{} (HTTP {})",
                error_message(response).await,
                status.as_u16()
            );
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    unavailable(format!("refused this service's credentials: {message}"))
                }
                _ if retryable => unavailable(message),
                _ => ProviderError::Rejected { provider, message },
            });
        }
    }

    /// Full jitter: a random wait up to base × 2^(attempt-1), capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.policy.max_delay);
        let mut byte = [0u8; 2];
        let fraction = match getrandom::fill(&mut byte) {
            Ok(()) => f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        ceiling.mul_f64(fraction)
    }
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// A transport error without its URL (which may carry a query secret).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        error.without_url().to_string()
    }
}

/// The provider's explanation from an error body, in the shapes these APIs
/// use: SendGrid `{"errors":[{"message"}]}`, Microsoft Graph and Google
/// `{"error":{"message"}}`, OAuth `{"error_description"}`; at most 300 characters.
async fn error_message(response: Response) -> String {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = [
        &body["errors"][0]["message"],
        &body["error"]["message"],
        &body["error_description"],
        &body["message"],
        &body["error"],
    ]
    .into_iter()
    .find_map(|value| value.as_str())
    .map(str::to_string)
    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    message.chars().take(300).collect()
}
