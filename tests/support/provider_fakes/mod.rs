//! What the provider adapter tests share: settings given in the test, an
//! HTTP client with quick retries, the address they provision, fixtures,
//! and stateful fakes of the HTTP providers' APIs (`sendgrid`, `graph`,
//! `google`), with the pieces of request and answer they are made of.

pub mod google;
pub mod graph;
pub mod sendgrid;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use provisioning::domain::{DisplayName, EmailAddress, Username};
use provisioning::providers::http::{ProviderHttp, RetryPolicy};
use provisioning::providers::{
    GoogleProvider, MailProvider, Mark, ProviderError, ProvisionedAccount, SesProvider, SesSettings,
};
use provisioning::secrets::ProviderSettings;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// Provider settings that are exactly `pairs`.
pub fn settings(pairs: &[(&str, &str)]) -> Arc<ProviderSettings> {
    let values: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(ProviderSettings::new(
        None,
        move |name| values.get(name).cloned(),
        Duration::ZERO,
    ))
}

/// Retries quick enough for tests; the same code paths as production.
pub fn http() -> ProviderHttp {
    ProviderHttp::new(RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
    })
}

/// The mark of the create the adapter tests provision for.
pub fn mark() -> Mark {
    Mark::new("test-create")
}

/// `address` made at `provider` as a create would, with its default
/// display name, under the tests' mark.
pub async fn provision_default(
    provider: &dyn MailProvider,
    address: &EmailAddress,
) -> Result<ProvisionedAccount, ProviderError> {
    provider
        .provision(
            address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
        .await
}

/// The SES adapter on `ses` and `iam`, in eu-west-1, users under
/// `/email-provisioning/`, identities on `configuration_set`.
pub fn ses_provider(
    ses: &aws_sdk_sesv2::Client,
    iam: &aws_sdk_iam::Client,
    configuration_set: Option<String>,
) -> SesProvider {
    SesProvider::new(
        ses.clone(),
        iam.clone(),
        SesSettings {
            region: "eu-west-1".into(),
            iam_path: "/email-provisioning/".into(),
            configuration_set,
            permissions_boundary: None,
        },
    )
}

/// `support@example.com`, "Support Team".
pub fn support() -> (EmailAddress, DisplayName) {
    let address = EmailAddress::parse("support@example.com").unwrap();
    (
        address,
        DisplayName::parse(Some("Support Team"), &Username::parse("support").unwrap()).unwrap(),
    )
}

/// The Google adapter at `server` (token endpoint `{server}/token`), with
/// the fixture's service account acting as `admin@example.com`.
pub fn google_at(server: &str) -> GoogleProvider {
    google_with(server, &[])
}

/// The same, with `extra` settings.
pub fn google_with(server: &str, extra: &[(&str, &str)]) -> GoogleProvider {
    let account = fixture("google-service-account.json");
    let mut pairs = vec![
        ("GOOGLE_SERVICE_ACCOUNT_JSON", account.as_str()),
        ("GOOGLE_ADMIN_EMAIL", "admin@example.com"),
    ];
    pairs.extend_from_slice(extra);
    GoogleProvider::new(http(), &format!("{server}/token"), server, settings(&pairs))
}

/// A file of `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The token request Google requires: a JWT signed by the service account's
/// key (RS256), for `scope`, acting as the admin.
pub struct SignedAssertion {
    pub public_key: jsonwebtoken::DecodingKey,
    pub audience: String,
    pub scope: &'static str,
}

impl Match for SignedAssertion {
    fn matches(&self, request: &Request) -> bool {
        let form = form(request);
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return false;
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&["provisioner@test-project.iam.gserviceaccount.com"]);
        let Some(assertion) = form.get("assertion") else {
            return false;
        };
        match jsonwebtoken::decode::<Value>(assertion, &self.public_key, &validation) {
            Ok(token) => {
                token.claims["sub"] == "admin@example.com"
                    && token.claims["scope"] == self.scope
                    && token.header.kid.as_deref() == Some("test-key-1")
            }
            Err(_) => false,
        }
    }
}

// Pieces of the fakes -----------------------------------------------------------

/// Longer than `http()`'s 500 ms timeout: an answer that comes too late to be read.
pub const TOO_LATE: Duration = Duration::from_secs(2);

/// `fake` answers every request `server` gets.
pub async fn mount(server: &MockServer, fake: impl Respond + 'static) {
    Mock::given(any()).respond_with(fake).mount(server).await;
}

pub fn bearer(request: &Request) -> Option<&str> {
    request
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The JSON body; `Null` for none, which every required field then misses.
pub fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_default()
}

/// The form-encoded body (a token request's); empty for none.
pub fn form(request: &Request) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

pub fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

pub fn token_response(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": token }))
}

/// An OAuth 2.0 error (RFC 6749 section 5.2), as both token endpoints answer.
pub fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

/// Addresses (and user keys) compare without case, at every provider.
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

/// How many creates still to come lose their answer. A lost create is
/// made all the same; its answer comes after the client gave up on it
/// (`TOO_LATE`), as when the connection drops once the provider committed.
#[derive(Default)]
pub struct LostAnswers(u32);

impl LostAnswers {
    pub fn lose_next(&mut self) {
        self.0 += 1;
    }

    /// A create's answer: on time, or too late to be read if one is still to be lost.
    pub fn answer(&mut self, template: ResponseTemplate) -> ResponseTemplate {
        if self.0 == 0 {
            return template;
        }
        self.0 -= 1;
        template.set_delay(TOO_LATE)
    }
}
