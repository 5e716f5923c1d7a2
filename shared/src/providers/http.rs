//! The HTTP client the provider adapters share: built once, a timeout per
//! call, bounded retries with exponential backoff and full jitter, and the
//! provider's own error message, never a credential, in the error.
//!
//! Every try fits in what is left of the invocation (`deadline`), and a
//! request that creates something is never sent again blindly: when a try's
//! outcome is unknown (it timed out, or the provider failed with a 5xx
//! after perhaps doing it), the adapter first looks for what it would have
//! made.

use std::future::Future;
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};

use super::ProviderError;
use crate::deadline;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Calls in all, the first one included.
    pub attempts: u32,
    pub base_delay: Duration,
    /// The longest wait between two calls; a `Retry-After` beyond it is not waited for.
    pub max_delay: Duration,
    /// The longest a single call may take (less when the invocation has less left).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
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

/// What one try came to.
enum Tried {
    /// A success, or a status the caller said is fine.
    Answered(Response),
    /// A definite refusal: the request did nothing, and the same one would fail again.
    Refused(ProviderError),
    /// The request did nothing (no connection, or HTTP 429): it may be sent again,
    /// after `wait` if the provider said how long.
    NotDone {
        message: String,
        wait: Option<Duration>,
    },
    /// It may or may not have been done: timed out, or failed with a 5xx.
    Unknown(String),
}

impl ProviderHttp {
    pub fn new(policy: RetryPolicy) -> Self {
        // ring, as for the AWS clients: aws-lc would seed jitter entropy at
        // the first handshake. Already installed is as good as installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
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

    /// Sends a request that is safe to repeat (a read, a delete, a put of
    /// the same state) until it succeeds or tries or time run out; returns
    /// a success response, or one whose status is in `also_fine` (a 404 on
    /// a delete, say).
    pub async fn send(
        &self,
        provider: &'static str,
        also_fine: &[StatusCode],
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ProviderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (message, wait) = match self.try_once(provider, also_fine, &build).await? {
                Tried::Answered(response) => return Ok(response),
                Tried::Refused(error) => return Err(error),
                Tried::NotDone { message, wait } => (message, wait),
                Tried::Unknown(message) => (message, None),
            };
            self.before_next_try(provider, attempt, message, wait)
                .await?;
        }
    }

    /// Sends a request that creates something. A try whose outcome is
    /// unknown is followed by `find`, which looks for what it would have
    /// made (by the mark the adapter gave it): found is done; not found, it
    /// is tried again while tries and time remain. `find` may also remove
    /// what it found and answer `None` when the made thing is of no use
    /// (a key whose secret only the lost answer carried).
    pub async fn create<T, Fut>(
        &self,
        provider: &'static str,
        build: impl Fn() -> RequestBuilder,
        find: impl Fn() -> Fut,
    ) -> Result<Created<T>, ProviderError>
    where
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (message, wait) = match self.try_once(provider, &[], &build).await? {
                Tried::Answered(response) => return Ok(Created::Answered(response)),
                Tried::Refused(error) => return Err(error),
                Tried::NotDone { message, wait } => (message, wait),
                Tried::Unknown(message) => match find().await? {
                    Some(found) => return Ok(Created::Found(found)),
                    None => (message, None),
                },
            };
            self.before_next_try(provider, attempt, message, wait)
                .await?;
        }
    }

    /// A user (or the like) made by a request that creates it, whose mark
    /// `find` looks for: the provider's answer; or, when the answer was
    /// lost, or the provider says it exists already (its refusal contains
    /// `exists_says`), what `find` finds carrying this create's mark. One
    /// that exists without it is someone else's: refused, `whose` saying what.
    pub async fn create_marked<T, Fut>(
        &self,
        provider: &'static str,
        build: impl Fn() -> RequestBuilder,
        find: impl Fn() -> Fut,
        exists_says: &str,
        whose: impl FnOnce() -> String,
    ) -> Result<T, ProviderError>
    where
        T: serde::de::DeserializeOwned,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        match self.create(provider, build, &find).await {
            Ok(Created::Answered(response)) => Self::json(provider, response).await,
            Ok(Created::Found(made)) => Ok(made),
            Err(ProviderError::Rejected { message, .. }) if message.contains(exists_says) => {
                find().await?.ok_or_else(|| ProviderError::Rejected {
                    provider,
                    message: whose(),
                })
            }
            Err(error) => Err(error),
        }
    }

    async fn try_once(
        &self,
        provider: &'static str,
        also_fine: &[StatusCode],
        build: &impl Fn() -> RequestBuilder,
    ) -> Result<Tried, ProviderError> {
        let timeout = match deadline::for_provider() {
            Some(left) if left.is_zero() => return Err(out_of_time(provider)),
            Some(left) => left.min(self.policy.timeout),
            None => self.policy.timeout,
        };
        let response = match build().timeout(timeout).send().await {
            Ok(response) => response,
            Err(error) if error.is_connect() => {
                return Ok(Tried::NotDone {
                    message: "could not connect".into(),
                    wait: None,
                })
            }
            Err(error) => return Ok(Tried::Unknown(describe(error))),
        };
        let status = response.status();
        if status.is_success() || also_fine.contains(&status) {
            return Ok(Tried::Answered(response));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Tried::NotDone {
                wait: retry_after(&response),
                message: "rate limited (HTTP 429)".into(),
            });
        }
        let message = format!(
            "{} (HTTP {})",
            error_message(response).await,
            status.as_u16()
        );
        Ok(match status {
            _ if status.is_server_error() => Tried::Unknown(message),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Tried::Refused(ProviderError::Unavailable {
                    provider,
                    message: format!("refused this service's credentials: {message}"),
                })
            }
            _ => Tried::Refused(ProviderError::Rejected { provider, message }),
        })
    }

    /// Waits before try `attempt + 1`, or gives up with `message` when the
    /// tries, or the invocation's time, are spent.
    async fn before_next_try(
        &self,
        provider: &'static str,
        attempt: u32,
        message: String,
        asked_wait: Option<Duration>,
    ) -> Result<(), ProviderError> {
        let unavailable = |message: String| ProviderError::Unavailable { provider, message };
        if attempt >= self.policy.attempts {
            return Err(unavailable(format!(
                "no answer after {attempt} tries: {message}"
            )));
        }
        let wait = match asked_wait {
            Some(wait) if wait > self.policy.max_delay => {
                return Err(unavailable(format!(
                    "{message}; asked to wait {} s",
                    wait.as_secs()
                )))
            }
            Some(wait) => wait,
            None => self.backoff(attempt),
        };
        if deadline::for_provider().is_some_and(|left| left <= wait) {
            return Err(unavailable(format!(
                "{message}; no time left in this request to try again"
            )));
        }
        tokio::time::sleep(wait).await;
        Ok(())
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

/// What a creating request came to: the provider's answer, or what `find`
/// found after an answer was lost.
pub enum Created<T> {
    Answered(Response),
    Found(T),
}

fn out_of_time(provider: &'static str) -> ProviderError {
    ProviderError::Unavailable {
        provider,
        message: "no time left in this request to call it".into(),
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
