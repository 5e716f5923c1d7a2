//! New credentials and sending stopped and restarted, through the HTTP
//! provider adapters, against stateful fakes of SendGrid, Microsoft Graph
//! (+ Entra ID's token endpoint) and the Google Admin SDK. Each fake keeps
//! what the provider keeps and can say whether a credential would send mail
//! now, so "the old credential no longer works" is a check that can fail.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use integration_tests::provider_fakes::{fixture, google_at, http, mark, settings, support};
use provisioning::providers::{
    Credential, GoogleProvider, MailProvider, Microsoft365Provider, ProviderError,
    ProvisionedAccount, SendGridProvider, SmtpPassword,
};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ADMIN_KEY: &str = "SG.admin-key-that-must-never-leak";
/// The name the adapter gives the keys of `mark()`: the address and the mark's token.
const KEY_NAME: &str = "email-provisioning support@example.com test-create";
const TENANT: &str = "tenant-1";
const CLIENT_SECRET: &str = "app-secret";
const GRAPH_TOKEN: &str = "graph-token";
const GOOGLE_TOKEN: &str = "ya29.token";

/// The credential the table keeps for what `provision` made.
fn credential(account: &ProvisionedAccount) -> Credential {
    Credential {
        provider_ref: account.provider_ref.clone(),
        smtp_username: account.smtp.username.clone(),
    }
}

fn unknown(smtp_username: &str) -> Credential {
    Credential {
        provider_ref: "no-such-id".into(),
        smtp_username: smtp_username.into(),
    }
}

/// `fake` answers every request `server` gets.
async fn mount(server: &MockServer, fake: impl Respond + 'static) {
    Mock::given(any()).respond_with(fake).mount(server).await;
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The JSON body; `Null` for none, which every required field then misses.
fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_default()
}

fn form(request: &Request) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

fn token_response(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": token }))
}

/// An OAuth 2.0 error (RFC 6749 section 5.2), as both token endpoints answer.
fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

/// The error, shown every way it can be, holds none of `secrets`.
fn assert_nothing_leaks(error: &ProviderError, secrets: &[&str]) {
    let shown = format!("{error} {error:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{shown} shows a secret");
    }
}

// SendGrid ------------------------------------------------------------------

/// What a key listed with no scopes gets: full access, `mail.send` included.
const FULL_ACCESS: &[&str] = &[
    "api_keys.create",
    "api_keys.delete",
    "api_keys.read",
    "api_keys.update",
    "mail.send",
    "user.profile.read",
];

/// SendGrid's API keys; the admin key (`ADMIN_KEY`) manages them and each
/// one sends mail through `POST /v3/mail/send` if it has `mail.send`.
#[derive(Clone, Default)]
struct SendGrid(Arc<Mutex<SendGridKeys>>);

#[derive(Default)]
struct SendGridKeys {
    by_id: BTreeMap<String, ApiKey>,
    made: u32,
}

struct ApiKey {
    secret: String,
    name: String,
    scopes: Vec<String>,
}

impl SendGridKeys {
    fn create(&mut self, name: &str, scopes: Vec<String>) -> (String, String) {
        self.made += 1;
        let id = format!("key-id-{}", self.made);
        let secret = format!("SG.{id}.secret-{}", self.made);
        let key = ApiKey {
            secret: secret.clone(),
            name: name.into(),
            scopes,
        };
        self.by_id.insert(id.clone(), key);
        (id, secret)
    }
}

impl SendGrid {
    /// A send-only key made behind the adapter's back; its id and secret.
    fn add_key(&self, name: &str) -> (String, SmtpPassword) {
        let (id, secret) = self
            .0
            .lock()
            .unwrap()
            .create(name, vec!["mail.send".into()]);
        (id, SmtpPassword::new(secret))
    }

    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().by_id.keys().cloned().collect()
    }

    fn names(&self) -> Vec<String> {
        let keys = self.0.lock().unwrap();
        keys.by_id.values().map(|k| k.name.clone()).collect()
    }

    /// 202 accepted, 401 for a key SendGrid does not know, 403 for one
    /// without `mail.send`.
    fn send_mail(&self, request: &Request) -> ResponseTemplate {
        let keys = self.0.lock().unwrap();
        let Some(key) = bearer(request).and_then(|b| keys.by_id.values().find(|k| k.secret == b))
        else {
            return sendgrid_error(
                401,
                "The provided authorization grant is invalid, expired, or revoked",
            );
        };
        if !key.scopes.iter().any(|s| s == "mail.send") {
            return sendgrid_error(403, "access forbidden");
        }
        let message = body(request);
        if message["personalizations"].as_array().is_none() || message["from"]["email"].is_null() {
            return sendgrid_error(400, "The personalizations and from fields are required.");
        }
        ResponseTemplate::new(202)
    }
}

fn sendgrid_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "errors": [{ "field": null, "message": message }] }))
}

/// The scopes a create or update asks for; none listed means full access.
fn requested_scopes(body: &Value) -> Vec<String> {
    let listed: Vec<String> = body["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    if listed.is_empty() {
        FULL_ACCESS.iter().map(|s| s.to_string()).collect()
    } else {
        listed
    }
}

impl Respond for SendGrid {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let route = (request.method.as_str(), request.url.path());
        if route == ("POST", "/v3/mail/send") {
            return self.send_mail(request);
        }
        if bearer(request) != Some(ADMIN_KEY) {
            return sendgrid_error(401, "authorization required");
        }
        let body = body(request);
        let mut keys = self.0.lock().unwrap();
        match route {
            ("GET", "/v3/whitelabel/domains") => {
                let domain = request.url.query_pairs().find(|(k, _)| k == "domain");
                let authenticated = domain.is_none_or(|(_, d)| d == "example.com");
                let domains: Vec<Value> = authenticated
                    .then(|| json!({ "id": 1, "domain": "example.com", "subdomain": "em123", "valid": true }))
                    .into_iter()
                    .collect();
                ResponseTemplate::new(200).set_body_json(domains)
            }
            ("GET", "/v3/api_keys") => {
                let result: Vec<Value> = keys
                    .by_id
                    .iter()
                    .map(|(id, key)| json!({ "api_key_id": id, "name": key.name }))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "result": result }))
            }
            ("POST", "/v3/api_keys") => {
                let Some(name) = body["name"].as_str() else {
                    return sendgrid_error(400, "missing required argument: name");
                };
                let scopes = requested_scopes(&body);
                let (id, secret) = keys.create(name, scopes.clone());
                ResponseTemplate::new(201).set_body_json(
                    json!({ "api_key": secret, "api_key_id": id, "name": name, "scopes": scopes }),
                )
            }
            (method, path) => match (method, path.strip_prefix("/v3/api_keys/")) {
                ("DELETE", Some(id)) => match keys.by_id.remove(id) {
                    Some(_) => ResponseTemplate::new(204),
                    None => sendgrid_error(404, "unable to find API Key"),
                },
                ("PUT", Some(id)) => {
                    let Some(name) = body["name"].as_str() else {
                        return sendgrid_error(400, "missing required argument: name");
                    };
                    let Some(key) = keys.by_id.get_mut(id) else {
                        return sendgrid_error(404, "unable to find API Key");
                    };
                    key.name = name.into();
                    key.scopes = requested_scopes(&body);
                    ResponseTemplate::new(200).set_body_json(
                        json!({ "api_key_id": id, "name": key.name, "scopes": key.scopes }),
                    )
                }
                _ => sendgrid_error(404, "not found"),
            },
        }
    }
}

async fn sendgrid() -> (MockServer, SendGrid, SendGridProvider) {
    let server = MockServer::start().await;
    let fake = SendGrid::default();
    mount(&server, fake.clone()).await;
    let provider = SendGridProvider::new(
        http(),
        &server.uri(),
        settings(&[("SENDGRID_API_KEY", ADMIN_KEY)]),
    );
    (server, fake, provider)
}

/// What SendGrid answers a message sent with `key`.
async fn send_with(server: &MockServer, key: &SmtpPassword) -> u16 {
    let message = json!({
        "personalizations": [{ "to": [{ "email": "someone@example.org" }] }],
        "from": { "email": "support@example.com" },
        "subject": "hello",
        "content": [{ "type": "text/plain", "value": "hello" }],
    });
    http()
        .client()
        .post(format!("{}/v3/mail/send", server.uri()))
        .bearer_auth(key.expose())
        .json(&message)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sendgrid_keeps_the_old_key_working_until_it_is_revoked() {
    let (server, _fake, provider) = sendgrid().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let old = credential(&account);
    assert_eq!(send_with(&server, &account.password).await, 202);

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_ne!(issued.credential.provider_ref, old.provider_ref);
    assert_eq!(issued.credential.smtp_username, "apikey");
    assert_eq!(
        send_with(&server, &account.password).await,
        202,
        "the old key works until it is revoked"
    );
    assert_eq!(send_with(&server, &issued.password).await, 202);

    provider.revoke_credential(&address, &old).await.unwrap();
    assert_eq!(send_with(&server, &account.password).await, 401);
    assert_eq!(send_with(&server, &issued.password).await, 202);
    provider.revoke_credential(&address, &old).await.unwrap();
}

#[tokio::test]
async fn sendgrid_stops_and_restarts_a_key_without_changing_it() {
    let (server, fake, provider) = sendgrid().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let current = credential(&account);
    // A spare of a rotation that died must stop too.
    let (spare_id, spare) = fake.add_key(KEY_NAME);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 403);
    assert_eq!(send_with(&server, &spare).await, 403);
    let spare_credential = Credential {
        provider_ref: spare_id,
        smtp_username: "apikey".into(),
    };
    provider
        .revoke_credential(&address, &spare_credential)
        .await
        .unwrap();
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 202);
    // PUT replaces the name too: the key must still be found by it.
    assert_eq!(fake.names(), [KEY_NAME]);
    assert_eq!(fake.ids(), [current.provider_ref]);
}

#[tokio::test]
async fn sendgrid_removes_the_leftover_of_a_rotation_that_died_first() {
    let (server, fake, provider) = sendgrid().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let current = credential(&account);
    let (_, leftover) = fake.add_key(KEY_NAME);
    let (other, _) = fake.add_key("email-provisioning sales@example.com");

    let issued = provider
        .issue_credential(&address, &current, &mark())
        .await
        .unwrap();
    let mut expected = vec![
        current.provider_ref,
        other,
        issued.credential.provider_ref.clone(),
    ];
    expected.sort();
    assert_eq!(fake.ids(), expected);
    assert_eq!(send_with(&server, &leftover).await, 401);
    assert_eq!(send_with(&server, &account.password).await, 202);
    assert_eq!(send_with(&server, &issued.password).await, 202);
}

#[tokio::test]
async fn sendgrid_finds_keys_by_name_and_passes_errors_on_without_a_key() {
    let (server, fake, provider) = sendgrid().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();

    // Keys are found by the address's name: a stale id in the table does
    // not matter, and another address's key is never touched.
    let (other_id, other) = fake.add_key("email-provisioning sales@example.com");
    provider
        .set_sending(&address, &unknown("apikey"), false)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 403);
    assert_eq!(send_with(&server, &other).await, 202);
    provider
        .set_sending(&address, &unknown("apikey"), true)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 202);

    let refused_key = "SG.revoked-admin-key";
    let misconfigured = SendGridProvider::new(
        http(),
        &server.uri(),
        settings(&[("SENDGRID_API_KEY", refused_key)]),
    );
    let error = misconfigured
        .issue_credential(&address, &credential(&account), &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("authorization required"));
    assert_nothing_leaks(&error, &[refused_key, account.password.expose()]);
    let mut left = vec![account.provider_ref, other_id];
    left.sort();
    assert_eq!(fake.ids(), left);
}

// Microsoft Graph -------------------------------------------------------------

/// Entra ID's users, made and changed through Graph with the app's token,
/// signed in to by a mail client with the password grant.
#[derive(Clone, Default)]
struct Graph(Arc<Mutex<GraphUsers>>);

#[derive(Default)]
struct GraphUsers {
    by_id: BTreeMap<String, GraphUser>,
    made: u32,
}

struct GraphUser {
    upn: String,
    password: String,
    must_change_password: bool,
    enabled: bool,
}

fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": code, "message": message } }))
}

/// Entra ID's default policy: 8 to 256 characters of three of the four kinds.
fn complex_enough(password: &str) -> bool {
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=256).contains(&password.len()) && kinds.iter().filter(|&&kind| kind).count() >= 3
}

/// `passwordProfile`'s password and whether it must be changed, if the
/// policy takes it; else why Graph refuses it.
fn profile_password(profile: &Value) -> Result<(String, bool), &'static str> {
    let Some(password) = profile["password"].as_str() else {
        return Err("Invalid value specified for property 'passwordProfile' of resource 'User'.");
    };
    if !complex_enough(password) {
        return Err("The specified password does not comply with password complexity requirements. Please provide a different password.");
    }
    // Left out, Graph makes the user change the password at the next sign-in.
    let must_change = profile["forceChangePasswordNextSignIn"]
        .as_bool()
        .unwrap_or(true);
    Ok((password.into(), must_change))
}

impl GraphUsers {
    fn create(&mut self, user: &Value) -> ResponseTemplate {
        let required = [
            "accountEnabled",
            "displayName",
            "mailNickname",
            "userPrincipalName",
        ];
        if let Some(missing) = required.iter().find(|f| user[**f].is_null()) {
            return graph_error(
                400,
                "Request_BadRequest",
                &format!("Property '{missing}' is required when creating the object."),
            );
        }
        let (password, must_change_password) = match profile_password(&user["passwordProfile"]) {
            Ok(profile) => profile,
            Err(refusal) => return graph_error(400, "Request_BadRequest", refusal),
        };
        let upn = user["userPrincipalName"].as_str().unwrap_or_default();
        if self.find(upn).is_some() {
            return graph_error(
                400,
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already exists.",
            );
        }
        self.made += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", self.made);
        let created = GraphUser {
            upn: upn.into(),
            password,
            must_change_password,
            enabled: user["accountEnabled"].as_bool().unwrap_or(false),
        };
        self.by_id.insert(id.clone(), created);
        ResponseTemplate::new(201).set_body_json(json!({ "id": id, "userPrincipalName": upn }))
    }

    fn update(&mut self, key: &str, changes: &Value) -> ResponseTemplate {
        let profile = match changes.get("passwordProfile").map(profile_password) {
            Some(Err(refusal)) => return graph_error(400, "Request_BadRequest", refusal),
            profile => profile.and_then(Result::ok),
        };
        let enabled = changes.get("accountEnabled");
        if enabled.is_some_and(|e| !e.is_boolean()) {
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'accountEnabled' of resource 'User'.",
            );
        }
        let Some(user) = self.find(key) else {
            return graph_error(404, "Request_ResourceNotFound", &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."));
        };
        if let Some((password, must_change)) = profile {
            user.password = password;
            user.must_change_password = must_change;
        }
        if let Some(enabled) = enabled.and_then(Value::as_bool) {
            user.enabled = enabled;
        }
        ResponseTemplate::new(204)
    }

    /// Graph takes a user's UPN wherever it takes its id.
    fn find(&mut self, key: &str) -> Option<&mut GraphUser> {
        self.by_id
            .iter_mut()
            .find(|(id, user)| *id == key || user.upn.eq_ignore_ascii_case(key))
            .map(|(_, user)| user)
    }
}

impl Graph {
    fn token(&self, form: &HashMap<String, String>) -> ResponseTemplate {
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("client_id").is_none() || field("scope").is_none() {
            return oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id' and 'scope'.");
        }
        match field("grant_type") {
            Some("client_credentials") => {
                if field("client_id") != Some("app-1")
                    || field("client_secret") != Some(CLIENT_SECRET)
                {
                    return oauth_error(
                        401,
                        "invalid_client",
                        "AADSTS7000215: Invalid client secret provided.",
                    );
                }
                if field("scope") != Some("https://graph.microsoft.com/.default") {
                    return oauth_error(
                        400,
                        "invalid_scope",
                        "AADSTS1002012: The provided value for scope is not valid.",
                    );
                }
                token_response(GRAPH_TOKEN)
            }
            Some("password") => {
                let mut users = self.0.lock().unwrap();
                match users.find(field("username").unwrap_or_default()) {
                    None => oauth_error(400, "invalid_grant", "AADSTS50034: The user account does not exist in the directory."),
                    Some(user) if Some(user.password.as_str()) != field("password") => oauth_error(400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password."),
                    Some(user) if !user.enabled => oauth_error(400, "invalid_grant", "AADSTS50057: The user account is disabled."),
                    Some(user) if user.must_change_password => oauth_error(400, "invalid_grant", "AADSTS50055: The password is expired."),
                    Some(_) => token_response("user-token"),
                }
            }
            _ => oauth_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            ),
        }
    }
}

impl Respond for Graph {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        if (method, path) == ("POST", &format!("/{TENANT}/oauth2/v2.0/token")) {
            return self.token(&form(request));
        }
        if bearer(request) != Some(GRAPH_TOKEN) {
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
            );
        }
        let mut users = self.0.lock().unwrap();
        match (method, path, path.strip_prefix("/v1.0/users/")) {
            ("POST", "/v1.0/users", _) => users.create(&body(request)),
            ("PATCH", _, Some(key)) => users.update(key, &body(request)),
            _ => graph_error(
                400,
                "BadRequest",
                &format!("Unsupported request: {method} {path}"),
            ),
        }
    }
}

async fn microsoft() -> (MockServer, Microsoft365Provider) {
    let server = MockServer::start().await;
    mount(&server, Graph::default()).await;
    let provider = Microsoft365Provider::new(
        http(),
        &server.uri(),
        &server.uri(),
        settings(&[
            ("MICROSOFT_TENANT_ID", TENANT),
            ("MICROSOFT_CLIENT_ID", "app-1"),
            ("MICROSOFT_CLIENT_SECRET", CLIENT_SECRET),
        ]),
    );
    (server, provider)
}

/// Signs in as a mail client would (password grant); Entra ID's refusal, if any.
async fn sign_in(
    server: &MockServer,
    username: &str,
    password: &SmtpPassword,
) -> Result<(), String> {
    let response = http()
        .client()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.uri()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "mail-client"),
            ("scope", "https://outlook.office.com/SMTP.Send"),
            ("username", username),
            ("password", password.expose()),
        ])
        .send()
        .await
        .unwrap();
    if response.status().is_success() {
        return Ok(());
    }
    let refusal: Value = response.json().await.unwrap();
    Err(refusal["error_description"]
        .as_str()
        .unwrap_or_default()
        .into())
}

#[tokio::test]
async fn microsoft365_a_new_password_replaces_the_old_one_at_once() {
    let (server, provider) = microsoft().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let old = credential(&account);
    sign_in(&server, upn, &account.password).await.unwrap();

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_eq!(issued.credential, old, "the same user, the same login");
    let refusal = sign_in(&server, upn, &account.password).await.unwrap_err();
    assert!(refusal.starts_with("AADSTS50126"), "{refusal}");
    sign_in(&server, upn, &issued.password).await.unwrap();

    provider.revoke_credential(&address, &old).await.unwrap();
    sign_in(&server, upn, &issued.password).await.unwrap();
}

#[tokio::test]
async fn microsoft365_a_disabled_account_cannot_sign_in_until_enabled() {
    let (server, provider) = microsoft().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let current = credential(&account);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    let refusal = sign_in(&server, upn, &account.password).await.unwrap_err();
    assert!(refusal.starts_with("AADSTS50057"), "{refusal}");
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    sign_in(&server, upn, &account.password).await.unwrap();
}

#[tokio::test]
async fn microsoft365_errors_are_passed_on_without_a_secret() {
    let (server, provider) = microsoft().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let secrets = [CLIENT_SECRET, GRAPH_TOKEN, account.password.expose()];

    let error = provider
        .set_sending(&address, &unknown(upn), false)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(error.to_string().contains("(HTTP 404)"), "{error}");
    assert_nothing_leaks(&error, &secrets);

    let error = provider
        .issue_credential(&address, &unknown(upn), &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert_nothing_leaks(&error, &secrets);
    sign_in(&server, upn, &account.password).await.unwrap();
}

// Google Admin SDK ------------------------------------------------------------

/// Google Workspace's users, made and changed through the Directory API with
/// a delegated service-account token. Google has no API to sign in with a
/// password, so `signs_in` asks the state instead.
#[derive(Clone)]
struct Google {
    token_url: String,
    public_key: jsonwebtoken::DecodingKey,
    users: Arc<Mutex<GoogleUsers>>,
}

#[derive(Default)]
struct GoogleUsers {
    by_id: BTreeMap<String, GoogleUser>,
    made: u32,
}

struct GoogleUser {
    primary_email: String,
    password: String,
    suspended: bool,
}

fn google_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": status, "message": message } }))
}

fn user_resource(id: &str, user: &GoogleUser) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "kind": "admin#directory#user", "id": id, "primaryEmail": user.primary_email,
        "suspended": user.suspended, "isAdmin": false,
    }))
}

/// The Directory API takes 8 to 100 ASCII characters.
fn valid_google_password(password: &Value) -> Option<String> {
    let password = password.as_str()?;
    ((8..=100).contains(&password.len()) && password.is_ascii()).then(|| password.into())
}

impl Google {
    fn new(token_url: String) -> Self {
        let public_key =
            jsonwebtoken::DecodingKey::from_rsa_pem(fixture("google-test-key.pub.pem").as_bytes())
                .unwrap();
        Self {
            token_url,
            public_key,
            users: Arc::default(),
        }
    }

    fn signs_in(&self, email: &str, password: &SmtpPassword) -> bool {
        let users = self.users.lock().unwrap();
        users.by_id.values().any(|u| {
            u.primary_email.eq_ignore_ascii_case(email)
                && u.password == password.expose()
                && !u.suspended
        })
    }

    /// The JWT-bearer grant (RFC 7523): signed by the service account's key,
    /// for the Directory user scope, acting as the admin.
    fn token(&self, form: &HashMap<String, String>) -> ResponseTemplate {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[&self.token_url]);
        validation.set_issuer(&["provisioner@test-project.iam.gserviceaccount.com"]);
        let grant = form.get("grant_type").map(String::as_str);
        let assertion = form
            .get("assertion")
            .map(String::as_str)
            .unwrap_or_default();
        let claims = jsonwebtoken::decode::<Value>(assertion, &self.public_key, &validation);
        match claims {
            Ok(token)
                if grant == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
                    && token.claims["sub"] == "admin@example.com"
                    && token.claims["scope"]
                        == "https://www.googleapis.com/auth/admin.directory.user" =>
            {
                token_response(GOOGLE_TOKEN)
            }
            _ => oauth_error(400, "invalid_grant", "Invalid JWT Signature."),
        }
    }
}

impl GoogleUsers {
    fn insert(&mut self, user: &Value) -> ResponseTemplate {
        let required = ["/primaryEmail", "/name/givenName", "/name/familyName"];
        if let Some(missing) = required.iter().find(|f| user.pointer(f).is_none()) {
            return google_error(400, &format!("Invalid Input: {missing}"));
        }
        let Some(password) = valid_google_password(&user["password"]) else {
            return google_error(400, "Invalid Password");
        };
        let primary_email = user["primaryEmail"].as_str().unwrap_or_default();
        if self.find(primary_email).is_some() {
            return google_error(409, "Entity already exists.");
        }
        self.made += 1;
        let id = format!("1042776304923950{:05}", self.made);
        let created = GoogleUser {
            primary_email: primary_email.into(),
            password,
            suspended: false,
        };
        let resource = user_resource(&id, &created);
        self.by_id.insert(id, created);
        resource
    }

    /// `users.update` changes only the fields given.
    fn update(&mut self, key: &str, changes: &Value) -> ResponseTemplate {
        let password = match changes.get("password") {
            Some(given) => match valid_google_password(given) {
                Some(password) => Some(password),
                None => return google_error(400, "Invalid Password"),
            },
            None => None,
        };
        let suspended = changes.get("suspended");
        if suspended.is_some_and(|s| !s.is_boolean()) {
            return google_error(400, "Invalid Input: suspended");
        }
        let Some((id, user)) = self.find(key) else {
            return google_error(404, "Resource Not Found: userKey");
        };
        if let Some(password) = password {
            user.password = password;
        }
        if let Some(suspended) = suspended.and_then(Value::as_bool) {
            user.suspended = suspended;
        }
        user_resource(&id, user)
    }

    /// The Directory API takes a user's primary email wherever it takes its id.
    fn find(&mut self, key: &str) -> Option<(String, &mut GoogleUser)> {
        self.by_id
            .iter_mut()
            .find(|(id, user)| *id == key || user.primary_email.eq_ignore_ascii_case(key))
            .map(|(id, user)| (id.clone(), user))
    }
}

impl Respond for Google {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        if (method, path) == ("POST", "/token") {
            return self.token(&form(request));
        }
        if bearer(request) != Some(GOOGLE_TOKEN) {
            return google_error(401, "Request had invalid authentication credentials.");
        }
        let mut users = self.users.lock().unwrap();
        let user_key = path.strip_prefix("/admin/directory/v1/users/");
        match (method, path, user_key) {
            ("POST", "/admin/directory/v1/users", _) => users.insert(&body(request)),
            ("PUT", _, Some(key)) => users.update(key, &body(request)),
            _ => google_error(404, "Not Found"),
        }
    }
}

async fn google() -> (MockServer, Google, GoogleProvider) {
    let server = MockServer::start().await;
    let token_url = format!("{}/token", server.uri());
    let fake = Google::new(token_url.clone());
    mount(&server, fake.clone()).await;
    let provider = google_at(&server.uri());
    (server, fake, provider)
}

#[tokio::test]
async fn google_a_new_password_replaces_the_old_one_at_once() {
    let (_server, fake, provider) = google().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let old = credential(&account);
    assert!(fake.signs_in(email, &account.password));

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_eq!(issued.credential, old, "the same user, the same login");
    assert!(!fake.signs_in(email, &account.password));
    assert!(fake.signs_in(email, &issued.password));

    provider.revoke_credential(&address, &old).await.unwrap();
    assert!(fake.signs_in(email, &issued.password));
}

#[tokio::test]
async fn google_a_suspended_user_cannot_sign_in_until_restored() {
    let (_server, fake, provider) = google().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let current = credential(&account);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    assert!(!fake.signs_in(email, &account.password));
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    assert!(fake.signs_in(email, &account.password));
}

#[tokio::test]
async fn google_errors_are_passed_on_without_a_secret() {
    let (_server, fake, provider) = google().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let secrets = [GOOGLE_TOKEN, "PRIVATE KEY", account.password.expose()];

    let error = provider
        .set_sending(&address, &unknown(email), false)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Resource Not Found: userKey (HTTP 404)"),
        "{error}"
    );
    assert_nothing_leaks(&error, &secrets);

    let error = provider
        .issue_credential(&address, &unknown(email), &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert_nothing_leaks(&error, &secrets);
    assert!(fake.signs_in(email, &account.password));
}
