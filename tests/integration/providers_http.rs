//! The HTTP provider adapters against local fakes of SendGrid, Microsoft
//! Graph (+ its token endpoint) and the Google Admin SDK (+ its token
//! endpoint). Each fake answers only a request that carries what the real
//! API requires (method, path, bearer token, body fields), with the
//! provider's documented success and error payloads.

use std::time::Duration;

use integration_tests::provider_fakes::google::{token_request, GOOGLE_TOKEN, USER_SCOPE};
use integration_tests::provider_fakes::graph::{graph_error, microsoft_at};
use integration_tests::provider_fakes::sendgrid::{sendgrid_at, sendgrid_error, ADMIN_KEY};
use integration_tests::provider_fakes::{
    body, google_at, http, mark, oauth_error, settings, support, token_response,
};
use provisioning::domain::{DisplayName, EmailAddress, SmtpAuthentication};
use provisioning::providers::{MailProvider, ProviderError, SendGridProvider};
use serde_json::{json, Value};
use wiremock::matchers::{
    body_partial_json, body_string_contains, header, method, path, query_param,
};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

fn message(error: &ProviderError) -> String {
    error.to_string()
}

async fn mount_authenticated_domain(server: &MockServer, valid: bool) {
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .and(query_param("domain", "example.com"))
        .and(header("authorization", format!("Bearer {ADMIN_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "id": 1, "user_id": 7, "subdomain": "em123", "domain": "example.com", "username": "acme",
              "ips": [], "custom_spf": false, "default": true, "legacy": false,
              "automatic_security": true, "valid": valid }
        ])))
        .mount(server)
        .await;
}

fn create_key_request() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_KEY}").as_str(),
        ))
        .and(body_partial_json(
            json!({ "name": "email-provisioning support@example.com test-create", "scopes": ["mail.send"] }),
        ))
}

#[tokio::test]
async fn sendgrid_creates_a_send_only_key_and_deletes_it() {
    let server = MockServer::start().await;
    mount_authenticated_domain(&server, true).await;
    create_key_request()
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "api_key": "SG.new-key.secret", "api_key_id": "key-id-1",
            "name": "email-provisioning support@example.com test-create", "scopes": ["mail.send"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v3/api_keys/key-id-1"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v3/api_keys/gone"))
        .respond_with(sendgrid_error(404, "unable to find API Key"))
        .mount(&server)
        .await;

    // Removing the account removes every key named for its address too (none left here).
    Mock::given(method("GET"))
        .and(path("/v3/api_keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": [] })))
        .expect(2)
        .mount(&server)
        .await;

    let provider = sendgrid_at(&server.uri(), ADMIN_KEY);
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    assert_eq!(account.smtp.server, "smtp.sendgrid.net");
    assert_eq!(account.smtp.port, 587);
    assert_eq!(account.smtp.username, "apikey");
    assert_eq!(account.smtp.authentication, SmtpAuthentication::Password);
    assert_eq!(account.password.expose(), "SG.new-key.secret");
    assert_eq!(account.provider_ref, "key-id-1");
    provider.deprovision(&address, "key-id-1").await.unwrap();
    provider.deprovision(&address, "gone").await.unwrap();
}

#[tokio::test]
async fn sendgrid_refuses_a_domain_it_has_not_authenticated() {
    let server = MockServer::start().await;
    mount_authenticated_domain(&server, false).await;
    create_key_request()
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (address, name) = support();
    let error = sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(
        message(&error).contains("has not validated the authentication of example.com"),
        "{error}"
    );
}

#[tokio::test]
async fn sendgrid_errors_carry_its_message_and_never_a_key() {
    let server = MockServer::start().await;
    mount_authenticated_domain(&server, true).await;
    create_key_request()
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({ "errors": [{ "field": "name", "message": "name must be unique" }] }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (address, name) = support();
    let error = sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(message(&error).contains("name must be unique") && message(&error).contains("400"));
    assert!(!format!("{error} {error:?}").contains(ADMIN_KEY));
}

#[tokio::test]
async fn sendgrid_refusing_our_key_is_unavailable_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .respond_with(sendgrid_error(401, "authorization required"))
        .expect(1)
        .mount(&server)
        .await;
    let (address, name) = support();
    let error = sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(message(&error).contains("authorization required"));
    assert!(!format!("{error} {error:?}").contains(ADMIN_KEY));
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_it_asks_for() {
    let server = MockServer::start().await;
    mount_authenticated_domain(&server, true).await;
    create_key_request()
        .respond_with(sendgrid_error(429, "too many requests").insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    create_key_request()
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({ "api_key": "SG.k", "api_key_id": "id", "name": "n", "scopes": ["mail.send"] }),
        ))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let (address, name) = support();
    sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    mount_authenticated_domain(&server, true).await;
    create_key_request()
        .respond_with(sendgrid_error(503, "service unavailable"))
        .expect(3)
        .mount(&server)
        .await;
    // A 5xx may come after the key was made: before each new try the
    // adapter looks for a key of this create's mark (none here).
    Mock::given(method("GET"))
        .and(path("/v3/api_keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": [] })))
        .expect(3)
        .mount(&server)
        .await;
    let (address, name) = support();
    let error = sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let (address, name) = support();
    let error = sendgrid_at(&server.uri(), ADMIN_KEY)
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(message(&error).contains("timed out"), "{error}");
}

#[tokio::test]
async fn a_provider_without_its_settings_says_which_is_missing() {
    let server = MockServer::start().await;
    let provider = SendGridProvider::new(http(), &server.uri(), settings(&[]));
    let (address, name) = support();
    let error = provider
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        message(&error).contains("SENDGRID_API_KEY is not configured"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A Graph password profile the tenant's default policy accepts.
struct StrongPassword(&'static str);

impl Match for StrongPassword {
    fn matches(&self, request: &Request) -> bool {
        let body = body(request);
        let password = body.pointer(self.0).and_then(Value::as_str).unwrap_or("");
        password.len() >= 20
            && password.chars().any(|c| c.is_ascii_uppercase())
            && password.chars().any(|c| c.is_ascii_lowercase())
            && password.chars().any(|c| c.is_ascii_digit())
            && password.chars().any(|c| !c.is_ascii_alphanumeric())
    }
}

async fn mount_microsoft_token(server: &MockServer, expected_calls: u64) {
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=app-1"))
        .and(body_string_contains("client_secret=app-secret"))
        .and(body_string_contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "graph-token"
        })))
        .expect(expected_calls)
        .mount(server)
        .await;
}

#[tokio::test]
async fn microsoft365_creates_a_licensed_user_with_a_cached_token() {
    let server = MockServer::start().await;
    mount_microsoft_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(header("authorization", "Bearer graph-token"))
        .and(body_partial_json(json!({
            "accountEnabled": true,
            "displayName": "Support Team",
            "mailNickname": "support",
            "userPrincipalName": "support@example.com",
            "usageLocation": "FR",
            "passwordProfile": { "forceChangePasswordNextSignIn": false }
        })))
        .and(StrongPassword("/passwordProfile/password"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "userPrincipalName": "support@example.com"
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd/assignLicense",
        ))
        .and(header("authorization", "Bearer graph-token"))
        .and(body_partial_json(
            json!({ "addLicenses": [{ "skuId": "sku-e3" }], "removeLicenses": [] }),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd" })),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd"))
        .and(header("authorization", "Bearer graph-token"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let provider = microsoft_at(
        &server.uri(),
        &[
            ("MICROSOFT_LICENSE_SKU_ID", "sku-e3"),
            ("MICROSOFT_USAGE_LOCATION", "FR"),
        ],
    );
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    assert_eq!(
        (account.smtp.server.as_str(), account.smtp.port),
        ("smtp.office365.com", 587)
    );
    assert_eq!(account.smtp.username, "support@example.com");
    assert_eq!(
        account.smtp.authentication,
        SmtpAuthentication::Xoauth2,
        "SMTP AUTH with passwords is off by default"
    );
    assert_eq!(account.provider_ref, "87d349ed-44d7-43e1-9a83-5f2406dee5bd");
    assert!(account.webmail.is_some());
    let again = provider.provision(&address, &name, &mark()).await.unwrap();
    assert_ne!(
        again.password, account.password,
        "every user gets its own password"
    );
    provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

#[tokio::test]
async fn microsoft365_passes_graph_errors_on_and_undoes_an_unlicensed_user() {
    let server = MockServer::start().await;
    mount_microsoft_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(body_partial_json(json!({ "mailNickname": "taken" })))
        .respond_with(graph_error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(body_partial_json(json!({ "mailNickname": "support" })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "user-2" })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/user-2/assignLicense"))
        .respond_with(graph_error(
            400,
            "Request_BadRequest",
            "License assignment failed because service plans are mutually exclusive.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/users/user-2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let provider = microsoft_at(
        &server.uri(),
        &[
            ("MICROSOFT_LICENSE_SKU_ID", "sku-e3"),
            ("MICROSOFT_SMTP_AUTH", "password"),
        ],
    );
    let taken = EmailAddress::parse("taken@example.com").unwrap();
    let error = provider
        .provision(&taken, &DisplayName::default_for(taken.username()), &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(message(&error).contains("already exists"));

    let (address, name) = support();
    let error = provider
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(message(&error).contains("mutually exclusive"), "{error}");
    assert!(!format!("{error:?}").contains("app-secret"));
}

#[tokio::test]
async fn google_signs_a_delegated_token_request_and_creates_the_user() {
    let server = MockServer::start().await;
    token_request(&server, USER_SCOPE)
        .respond_with(token_response(GOOGLE_TOKEN))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/admin/directory/v1/users"))
        .and(header("authorization", "Bearer ya29.token"))
        .and(body_partial_json(json!({
            "primaryEmail": "support@example.com",
            "name": { "givenName": "Support", "familyName": "Team" },
            "changePasswordAtNextLogin": false
        })))
        .and(StrongPassword("/password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#user", "id": "104277630492395066537", "primaryEmail": "support@example.com"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/admin/directory/v1/users/104277630492395066537"))
        .and(header("authorization", "Bearer ya29.token"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let provider = google_at(&server.uri());
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    assert_eq!(
        (account.smtp.server.as_str(), account.smtp.port),
        ("smtp.gmail.com", 587)
    );
    assert_eq!(account.smtp.authentication, SmtpAuthentication::Xoauth2);
    assert_eq!(account.provider_ref, "104277630492395066537");
    provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

#[tokio::test]
async fn google_without_delegation_is_unavailable_with_googles_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        ))
        .mount(&server)
        .await;
    let provider = google_at(&server.uri());
    let (address, name) = support();
    let error = provider
        .provision(&address, &name, &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(
        message(&error).contains("Client is unauthorized"),
        "{error}"
    );
    assert!(!format!("{error:?}").contains("PRIVATE KEY"));
}
