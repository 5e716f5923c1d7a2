//! What the HTTP adapters make carries the service's mark, and a crash's
//! clean-up removes only what carries it with the dead create's token:
//! never an employee's mailbox at the address, never a user found through
//! an alias, never a key someone else named. Removing an account removes
//! every credential of its address; a create whose answer was lost is
//! looked up by its mark before it is tried again; every try fits the
//! invocation's time. Stateful fakes of SendGrid, Microsoft Graph (+ its
//! token endpoint) and the Google Admin SDK keep what the provider keeps,
//! so each test checks what is left, not only what was asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::provider_fakes::{
    fixture, google_at, http, mark, settings, support, SignedAssertion,
};
use provisioning::deadline;
use provisioning::domain::EmailAddress;
use provisioning::providers::http::{ProviderHttp, RetryPolicy};
use provisioning::providers::{
    CompanyDirectory, Credential, GoogleProvider, MailProvider, Mark, Microsoft365Provider,
    ProviderError, SendGridProvider,
};
use serde_json::{json, Value};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ADMIN_KEY: &str = "SG.admin-key-that-must-never-leak";
const TENANT: &str = "tenant-1";
const CLIENT_SECRET: &str = "app-secret";
const GRAPH_TOKEN: &str = "graph-token";
const GOOGLE_TOKEN: &str = "ya29.token";
/// The token of the read-only directory scopes (`CompanyDirectory::holds`).
const GOOGLE_READ_TOKEN: &str = "ya29.read-only";
/// The scopes `holds` asks Google for, space-separated as the adapter sends them.
const GOOGLE_READ_SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly https://www.googleapis.com/auth/admin.directory.group.readonly";
/// Longer than `http()`'s 500 ms timeout: an answer that comes too late to be read.
const TOO_LATE: Duration = Duration::from_secs(2);

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).unwrap()
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

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn token_response(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": token }))
}

fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

/// A create's answer: on time, or (`lose`) after the client gave up on it.
fn answered(template: ResponseTemplate, lose: bool) -> ResponseTemplate {
    if lose {
        template.set_delay(TOO_LATE)
    } else {
        template
    }
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

// SendGrid ------------------------------------------------------------------

/// SendGrid's API keys, by id, managed with the admin key.
#[derive(Clone, Default)]
struct SendGrid(Arc<Mutex<SendGridKeys>>);

#[derive(Default)]
struct SendGridKeys {
    by_id: BTreeMap<String, ApiKey>,
    made: u32,
    /// Creates still to come whose answer is lost (the key is made all the same).
    answers_to_lose: u32,
    /// Every request, as `METHOD /path`.
    log: Vec<String>,
}

struct ApiKey {
    name: String,
    secret: String,
    scopes: Vec<String>,
}

fn sendgrid_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "errors": [{ "field": null, "message": message }] }))
}

impl SendGridKeys {
    fn create(&mut self, name: &str, scopes: Vec<String>) -> (String, String) {
        self.made += 1;
        let id = format!("key-id-{}", self.made);
        let secret = format!("SG.{id}.secret-{}", self.made);
        let key = ApiKey {
            name: name.into(),
            secret: secret.clone(),
            scopes,
        };
        self.by_id.insert(id.clone(), key);
        (id, secret)
    }
}

impl SendGrid {
    /// A key made behind the adapter's back (by an earlier create, or by someone else).
    fn add_key(&self, name: &str) -> String {
        let mut keys = self.0.lock().unwrap();
        keys.create(name, vec!["mail.send".into()]).0
    }

    fn lose_next_answer(&self) {
        self.0.lock().unwrap().answers_to_lose += 1;
    }

    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().by_id.keys().cloned().collect()
    }

    fn names(&self) -> Vec<String> {
        let keys = self.0.lock().unwrap();
        sorted(keys.by_id.values().map(|k| k.name.clone()).collect())
    }

    /// The ids of the keys whose name is for `address` (any token, or none).
    fn ids_for(&self, address: &str) -> Vec<String> {
        let prefix = format!("email-provisioning {address}");
        let keys = self.0.lock().unwrap();
        keys.by_id
            .iter()
            .filter(|(_, key)| key.name == prefix || key.name.starts_with(&format!("{prefix} ")))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The key's secret and scopes.
    fn key(&self, id: &str) -> Option<(String, Vec<String>)> {
        let keys = self.0.lock().unwrap();
        keys.by_id
            .get(id)
            .map(|key| (key.secret.clone(), key.scopes.clone()))
    }

    fn log(&self) -> Vec<String> {
        self.0.lock().unwrap().log.clone()
    }

    fn count(&self, request: &str) -> usize {
        self.log().iter().filter(|line| *line == request).count()
    }
}

impl Respond for SendGrid {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        let mut keys = self.0.lock().unwrap();
        keys.log.push(format!("{method} {path}"));
        if bearer(request) != Some(ADMIN_KEY) {
            return sendgrid_error(401, "authorization required");
        }
        match (method, path) {
            ("GET", "/v3/whitelabel/domains") => {
                let authenticated =
                    query(request, "domain").is_none_or(|domain| domain == "example.com");
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
                let body = body(request);
                let Some(name) = body["name"].as_str() else {
                    return sendgrid_error(400, "missing required argument: name");
                };
                let scopes: Vec<String> = body["scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect();
                let (id, secret) = keys.create(name, scopes.clone());
                let lose = keys.answers_to_lose > 0;
                keys.answers_to_lose = keys.answers_to_lose.saturating_sub(1);
                answered(
                    ResponseTemplate::new(201).set_body_json(
                        json!({ "api_key": secret, "api_key_id": id, "name": name, "scopes": scopes }),
                    ),
                    lose,
                )
            }
            (method, path) => match (method, path.strip_prefix("/v3/api_keys/")) {
                ("DELETE", Some(id)) => match keys.by_id.remove(id) {
                    Some(_) => ResponseTemplate::new(204),
                    None => sendgrid_error(404, "unable to find API Key"),
                },
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

#[tokio::test]
async fn sendgrid_clean_up_removes_only_the_keys_of_the_dead_creates_token() {
    let (_server, fake, provider) = sendgrid().await;
    let (support, _) = support();
    let ours = [
        fake.add_key("email-provisioning support@example.com test-create"),
        // A retry of the same create may have made a second one.
        fake.add_key("email-provisioning support@example.com test-create"),
    ];
    let others = [
        fake.add_key("email-provisioning support@example.com other-create"),
        // A longer token that starts with ours is another create's.
        fake.add_key("email-provisioning support@example.com test-create-2"),
        // Named before keys carried a token: not this create's either.
        fake.add_key("email-provisioning support@example.com"),
        fake.add_key("email-provisioning sales@example.com test-create"),
        fake.add_key("email-provisioning support@example.com.attacker.example test-create"),
        fake.add_key("CI deploy key"),
        fake.add_key("support@example.com test-create"),
    ];

    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();

    assert_eq!(fake.ids(), sorted(others.to_vec()));
    for id in &ours {
        assert_eq!(
            fake.count(&format!("DELETE /v3/api_keys/{id}")),
            1,
            "{id} deleted once"
        );
    }
    assert_eq!(
        fake.log()
            .iter()
            .filter(|line| line.starts_with("DELETE"))
            .count(),
        ours.len(),
        "no other key was asked to go"
    );
    // Nothing of that token left: a second clean-up has nothing to do.
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.ids(), sorted(others.to_vec()));
}

#[tokio::test]
async fn sendgrid_removing_an_account_removes_the_spare_of_a_rotation_whose_revoke_failed() {
    let (_server, fake, provider) = sendgrid().await;
    let (support, name) = support();
    let other_address = fake.add_key("email-provisioning sales@example.com other-create");
    let someone_elses = fake.add_key("CI deploy key");
    let account = provider.provision(&support, &name, &mark()).await.unwrap();
    let current = Credential {
        provider_ref: account.provider_ref.clone(),
        smtp_username: account.smtp.username.clone(),
    };
    // The rotation made its key, then died before revoking the old one.
    let issued = provider
        .issue_credential(&support, &current, &Mark::new("rotation-1"))
        .await
        .unwrap();
    // And a key named before keys carried a token.
    let legacy = fake.add_key("email-provisioning support@example.com");
    assert_eq!(
        fake.ids_for("support@example.com"),
        sorted(vec![
            account.provider_ref.clone(),
            issued.credential.provider_ref.clone(),
            legacy
        ]),
        "two keys of the address's own, one from before"
    );
    assert!(fake
        .names()
        .contains(&"email-provisioning support@example.com rotation-1".to_string()));

    // The table knows the new key only.
    provider
        .deprovision(&support, &issued.credential.provider_ref)
        .await
        .unwrap();

    assert_eq!(fake.ids_for("support@example.com"), Vec::<String>::new());
    assert_eq!(fake.ids(), sorted(vec![other_address, someone_elses]));
}

#[tokio::test]
async fn sendgrid_a_key_whose_create_answer_was_lost_is_deleted_and_made_again() {
    let (_server, fake, provider) = sendgrid().await;
    let (support, name) = support();
    let someone_elses = fake.add_key("CI deploy key");
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    let first = "key-id-2";
    assert_eq!(
        fake.log(),
        [
            "GET /v3/whitelabel/domains",
            "POST /v3/api_keys",
            // The answer did not come: look for the key of this mark first.
            "GET /v3/api_keys",
            // Its secret was only in the lost answer: of no use, so it goes.
            &format!("DELETE /v3/api_keys/{first}"),
            "POST /v3/api_keys",
        ]
    );
    assert_eq!(fake.count("POST /v3/api_keys"), 2);
    assert!(fake.key(first).is_none(), "the first key is gone");
    let left = fake.ids_for("support@example.com");
    assert_eq!(left, [account.provider_ref.as_str()], "exactly one key");
    let (secret, scopes) = fake.key(&account.provider_ref).unwrap();
    assert_eq!(
        account.password.expose(),
        secret,
        "the secret handed back is the remaining key's"
    );
    assert_eq!(scopes, ["mail.send"]);
    assert_eq!(
        fake.names(),
        sorted(vec![
            "CI deploy key".into(),
            "email-provisioning support@example.com test-create".into()
        ])
    );
    assert!(fake.key(&someone_elses).is_some());
}

// Microsoft Graph -------------------------------------------------------------

/// Entra ID's users and groups, as Graph keeps them for the app's token.
#[derive(Clone, Default)]
struct Graph(Arc<Mutex<Tenant>>);

#[derive(Default)]
struct Tenant {
    users: BTreeMap<String, GraphUser>,
    groups: Vec<GraphGroup>,
    made: u32,
    answers_to_lose: u32,
    /// The body of every user create, in order.
    posts: Vec<Value>,
    /// What each DELETE named.
    deleted: Vec<String>,
    /// `(collection, $filter)` of every directory query.
    queries: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
struct GraphUser {
    upn: String,
    mail: Option<String>,
    employee_type: Option<String>,
    proxy_addresses: Vec<String>,
    password: Option<String>,
}

struct GraphGroup {
    mail: String,
    proxy_addresses: Vec<String>,
}

fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": code, "message": message } }))
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether an object with these addresses passes `filter`: clauses joined
/// by ` or `, each `field eq 'value'` or `proxyAddresses/any(x:x eq 'value')`.
/// Anything else is a query Graph would refuse (`Err`).
fn passes(
    filter: &str,
    fields: &[(&str, Option<&str>)],
    proxy_addresses: &[String],
) -> Result<bool, String> {
    let quoted = |raw: &str| -> Result<String, String> {
        raw.strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
            .map(str::to_string)
            .ok_or_else(|| format!("not a string literal: {raw}"))
    };
    let mut any_clause = false;
    for clause in filter.split(" or ") {
        let clause = clause.trim();
        let found = if let Some(inner) = clause
            .strip_prefix("proxyAddresses/any(x:x eq ")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            let value = quoted(inner)?;
            proxy_addresses.iter().any(|p| same(p, &value))
        } else if let Some((field, literal)) = clause.split_once(" eq ") {
            let value = quoted(literal)?;
            let Some((_, actual)) = fields.iter().find(|(name, _)| *name == field) else {
                return Err(format!("unsupported property {field}"));
            };
            actual.is_some_and(|actual| same(actual, &value))
        } else {
            return Err(format!("unsupported clause {clause}"));
        };
        any_clause |= found;
    }
    Ok(any_clause)
}

impl Graph {
    fn add_user(&self, user: GraphUser) -> String {
        let mut tenant = self.0.lock().unwrap();
        tenant.made += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", tenant.made);
        tenant.users.insert(id.clone(), user);
        id
    }

    fn add_group(&self, mail: &str, proxy_addresses: &[&str]) {
        self.0.lock().unwrap().groups.push(GraphGroup {
            mail: mail.into(),
            proxy_addresses: proxy_addresses.iter().map(|p| p.to_string()).collect(),
        });
    }

    fn lose_next_answer(&self) {
        self.0.lock().unwrap().answers_to_lose += 1;
    }

    fn users(&self) -> BTreeMap<String, GraphUser> {
        self.0.lock().unwrap().users.clone()
    }

    fn posts(&self) -> Vec<Value> {
        self.0.lock().unwrap().posts.clone()
    }

    fn deleted(&self) -> Vec<String> {
        self.0.lock().unwrap().deleted.clone()
    }

    fn queries(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().queries.clone()
    }

    fn token(&self, form: &HashMap<String, String>) -> ResponseTemplate {
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("grant_type") != Some("client_credentials")
            || field("client_id") != Some("app-1")
            || field("client_secret") != Some(CLIENT_SECRET)
            || field("scope") != Some("https://graph.microsoft.com/.default")
        {
            return oauth_error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
            );
        }
        token_response(GRAPH_TOKEN)
    }
}

impl Tenant {
    fn find(&self, key: &str) -> Option<(&String, &GraphUser)> {
        self.users
            .iter()
            .find(|(id, user)| *id == key || same(&user.upn, key))
    }

    fn create(&mut self, user: &Value) -> ResponseTemplate {
        self.posts.push(user.clone());
        let text = |field: &str| user[field].as_str().map(str::to_string);
        let (Some(upn), Some(_), Some(_)) = (
            text("userPrincipalName"),
            text("displayName"),
            text("mailNickname"),
        ) else {
            return graph_error(400, "Request_BadRequest", "A required property is missing.");
        };
        if self.find(&upn).is_some() {
            return graph_error(
                400,
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already exists.",
            );
        }
        self.made += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", self.made);
        self.users.insert(
            id.clone(),
            GraphUser {
                upn: upn.clone(),
                mail: Some(upn.clone()),
                employee_type: text("employeeType"),
                proxy_addresses: vec![format!("SMTP:{upn}")],
                password: user
                    .pointer("/passwordProfile/password")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
        );
        let lose = self.answers_to_lose > 0;
        self.answers_to_lose = self.answers_to_lose.saturating_sub(1);
        answered(
            ResponseTemplate::new(201).set_body_json(json!({ "id": id, "userPrincipalName": upn })),
            lose,
        )
    }

    /// `GET /users/{id | userPrincipalName}`: `employeeType` is not among
    /// the properties Graph returns by default, only when `$select`ed.
    fn get(&self, key: &str, select: Option<&str>) -> ResponseTemplate {
        let Some((id, user)) = self.find(key) else {
            return graph_error(
                404,
                "Request_ResourceNotFound",
                &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
            );
        };
        let mut resource = json!({ "id": id, "userPrincipalName": user.upn, "mail": user.mail });
        let selected = select.unwrap_or_default();
        if selected.split(',').any(|field| field == "employeeType") {
            resource["employeeType"] = json!(user.employee_type);
        }
        ResponseTemplate::new(200).set_body_json(resource)
    }

    fn delete(&mut self, key: &str) -> ResponseTemplate {
        self.deleted.push(key.into());
        let Some(id) = self.find(key).map(|(id, _)| id.clone()) else {
            return graph_error(404, "Request_ResourceNotFound", "Resource does not exist.");
        };
        self.users.remove(&id);
        ResponseTemplate::new(204)
    }

    /// `GET /users` or `/groups` with `$filter`: an advanced query (a lambda
    /// on `proxyAddresses`), which Graph serves only with
    /// `ConsistencyLevel: eventual` and `$count=true`.
    fn search(&mut self, request: &Request, collection: &str) -> ResponseTemplate {
        let filter = query(request, "$filter").unwrap_or_default();
        self.queries.push((collection.into(), filter.clone()));
        let eventual = request
            .headers
            .get("consistencylevel")
            .and_then(|value| value.to_str().ok())
            == Some("eventual");
        if !eventual || query(request, "$count").as_deref() != Some("true") {
            return graph_error(
                400,
                "Request_UnsupportedQuery",
                "Unsupported Query. This query requires ConsistencyLevel: eventual and $count=true.",
            );
        }
        let found: Result<Vec<Value>, String> = if collection == "users" {
            self.users
                .iter()
                .filter_map(|(id, user)| {
                    let fields = [
                        ("userPrincipalName", Some(user.upn.as_str())),
                        ("mail", user.mail.as_deref()),
                    ];
                    passes(&filter, &fields, &user.proxy_addresses)
                        .map(|yes| yes.then(|| json!({ "id": id })))
                        .transpose()
                })
                .collect()
        } else {
            self.groups
                .iter()
                .enumerate()
                .filter_map(|(n, group)| {
                    let fields = [("mail", Some(group.mail.as_str()))];
                    passes(&filter, &fields, &group.proxy_addresses)
                        .map(|yes| yes.then(|| json!({ "id": format!("group-{n}") })))
                        .transpose()
                })
                .collect()
        };
        match found {
            Ok(value) => ResponseTemplate::new(200)
                .set_body_json(json!({ "@odata.count": value.len(), "value": value })),
            Err(refusal) => graph_error(400, "Request_UnsupportedQuery", &refusal),
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
        let mut tenant = self.0.lock().unwrap();
        match (method, path, path.strip_prefix("/v1.0/users/")) {
            ("POST", "/v1.0/users", _) => tenant.create(&body(request)),
            ("GET", "/v1.0/users", _) => tenant.search(request, "users"),
            ("GET", "/v1.0/groups", _) => tenant.search(request, "groups"),
            ("GET", _, Some(key)) => tenant.get(key, query(request, "$select").as_deref()),
            ("DELETE", _, Some(key)) => tenant.delete(key),
            _ => graph_error(
                400,
                "BadRequest",
                &format!("Unsupported request: {method} {path}"),
            ),
        }
    }
}

async fn microsoft() -> (MockServer, Graph, Microsoft365Provider) {
    let server = MockServer::start().await;
    let fake = Graph::default();
    mount(&server, fake.clone()).await;
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
    (server, fake, provider)
}

fn graph_user(upn: &str, employee_type: Option<&str>) -> GraphUser {
    GraphUser {
        upn: upn.into(),
        mail: Some(upn.into()),
        employee_type: employee_type.map(str::to_string),
        proxy_addresses: vec![format!("SMTP:{upn}")],
        password: Some("the employee's own password".into()),
    }
}

#[tokio::test]
async fn microsoft365_an_employees_mailbox_at_the_address_is_refused_and_never_removed() {
    for employee_type in [Some("Employee"), None] {
        let (_server, fake, provider) = microsoft().await;
        let (support, name) = support();
        let employee = fake.add_user(graph_user("support@example.com", employee_type));

        let error = provider
            .provision(&support, &name, &mark())
            .await
            .unwrap_err();
        assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("already exists"), "{message}");
        assert!(
            message.contains("this service did not make it"),
            "{message}"
        );
        assert_eq!(fake.posts().len(), 1, "one create, not repeated");

        provider
            .deprovision_marked(&support, &mark())
            .await
            .unwrap();
        assert_eq!(fake.deleted(), Vec::<String>::new(), "no DELETE at all");
        let users = fake.users();
        assert_eq!(users.len(), 1);
        assert_eq!(users[&employee].upn, "support@example.com");
        assert_eq!(users[&employee].employee_type.as_deref(), employee_type);
    }
}

#[tokio::test]
async fn microsoft365_clean_up_deletes_a_user_by_id_only_with_its_own_token() {
    let (_server, fake, provider) = microsoft().await;
    let (support, _) = support();
    let other_mark = Mark::new("other-create");
    let user = fake.add_user(graph_user("support@example.com", Some(&other_mark.label())));

    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert!(
        fake.users().contains_key(&user),
        "another create's user stays"
    );

    provider
        .deprovision_marked(&support, &other_mark)
        .await
        .unwrap();
    assert_eq!(fake.deleted(), [user], "deleted by its id, not its address");
    assert!(fake.users().is_empty());
}

#[tokio::test]
async fn microsoft365_a_user_whose_create_answer_was_lost_is_found_by_its_mark() {
    let (_server, fake, provider) = microsoft().await;
    let (support, name) = support();
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "the create is not repeated blindly");
    let users = fake.users();
    assert_eq!(users.len(), 1);
    let (id, user) = users.iter().next().unwrap();
    assert_eq!(account.provider_ref, *id);
    assert_eq!(user.employee_type, Some(mark().label()));
    assert_eq!(
        Some(account.password.expose()),
        posts[0]
            .pointer("/passwordProfile/password")
            .and_then(Value::as_str),
        "the password handed back is the one the user was made with"
    );
    assert_eq!(user.password.as_deref(), Some(account.password.expose()));
}

#[tokio::test]
async fn microsoft365_already_exists_with_this_creates_mark_is_success() {
    let (_server, fake, provider) = microsoft().await;
    let (support, name) = support();
    let ours = fake.add_user(graph_user("support@example.com", Some(&mark().label())));

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    assert_eq!(account.provider_ref, ours);
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.users().len(), 1);
    assert_eq!(fake.deleted(), Vec::<String>::new());
}

#[tokio::test]
async fn microsoft365_the_directory_holds_mailboxes_aliases_and_groups() {
    let (_server, fake, provider) = microsoft().await;
    let mut jane = graph_user("jane@example.com", Some("Employee"));
    jane.proxy_addresses.push("smtp:sales@example.com".into());
    fake.add_user(jane);
    fake.add_group(
        "team@example.com",
        &["SMTP:team@example.com", "smtp:help@example.com"],
    );

    for (raw, held) in [
        ("jane@example.com", true),
        ("sales@example.com", true),
        ("team@example.com", true),
        ("help@example.com", true),
        ("nobody@example.com", false),
    ] {
        let before = fake.queries().len();
        assert_eq!(provider.holds(&address(raw)).await.unwrap(), held, "{raw}");
        let queries = fake.queries()[before..].to_vec();
        let collections = sorted(queries.iter().map(|(c, _)| c.clone()).collect());
        assert_eq!(collections, ["groups", "users"], "{raw}");
        for (collection, filter) in &queries {
            assert!(
                filter.contains(&format!("proxyAddresses/any(x:x eq 'smtp:{raw}')")),
                "{collection}: {filter}"
            );
            assert!(filter.contains(&format!("mail eq '{raw}'")), "{filter}");
        }
    }
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert!(fake.posts().is_empty());
}

// Google Admin SDK ------------------------------------------------------------

/// Google Workspace's users and groups, through the Directory API with a
/// delegated service-account token. `users.get`, `users.delete` and
/// `groups.get` take a primary address, an alias or an id alike.
#[derive(Clone)]
struct Google {
    token_url: String,
    public_key: jsonwebtoken::DecodingKey,
    state: Arc<Mutex<Workspace>>,
}

#[derive(Default)]
struct Workspace {
    users: BTreeMap<String, GoogleUser>,
    /// Each group's addresses: its email first, then its aliases.
    groups: Vec<Vec<String>>,
    made: u32,
    answers_to_lose: u32,
    posts: Vec<Value>,
    /// What each DELETE named.
    deleted: Vec<String>,
    /// `METHOD /path` and the bearer token of every Directory API request.
    log: Vec<(String, String)>,
}

#[derive(Clone)]
struct GoogleUser {
    primary_email: String,
    aliases: Vec<String>,
    external_ids: Vec<Value>,
    password: String,
}

fn google_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": status, "message": message } }))
}

/// This service's mark on a Google user, for `token`.
fn google_mark(token: &str) -> Value {
    json!({ "type": "custom", "customType": "email-provisioning", "value": token })
}

impl GoogleUser {
    fn answers_to(&self, key: &str) -> bool {
        same(&self.primary_email, key) || self.aliases.iter().any(|a| same(a, key))
    }
}

impl Workspace {
    fn find(&self, key: &str) -> Option<(&String, &GoogleUser)> {
        self.users
            .iter()
            .find(|(id, user)| *id == key || user.answers_to(key))
    }

    fn resource(id: &str, user: &GoogleUser) -> ResponseTemplate {
        let mut resource = json!({
            "kind": "admin#directory#user", "id": id, "primaryEmail": user.primary_email,
            "isAdmin": false, "suspended": false,
        });
        if !user.aliases.is_empty() {
            resource["aliases"] = json!(user.aliases);
        }
        if !user.external_ids.is_empty() {
            resource["externalIds"] = json!(user.external_ids);
        }
        ResponseTemplate::new(200).set_body_json(resource)
    }

    fn insert(&mut self, user: &Value) -> ResponseTemplate {
        self.posts.push(user.clone());
        let (Some(primary), Some(password)) =
            (user["primaryEmail"].as_str(), user["password"].as_str())
        else {
            return google_error(400, "Invalid Input: primaryEmail");
        };
        let taken =
            self.find(primary).is_some() || self.groups.iter().flatten().any(|g| same(g, primary));
        if taken {
            return google_error(409, "Entity already exists.");
        }
        self.made += 1;
        let id = format!("1042776304923950{:05}", self.made);
        let created = GoogleUser {
            primary_email: primary.into(),
            aliases: Vec::new(),
            external_ids: user["externalIds"].as_array().cloned().unwrap_or_default(),
            password: password.into(),
        };
        let resource = Self::resource(&id, &created);
        self.users.insert(id, created);
        let lose = self.answers_to_lose > 0;
        self.answers_to_lose = self.answers_to_lose.saturating_sub(1);
        answered(resource, lose)
    }

    fn delete(&mut self, key: &str) -> ResponseTemplate {
        self.deleted.push(key.into());
        let Some(id) = self.find(key).map(|(id, _)| id.clone()) else {
            return google_error(404, "Resource Not Found: userKey");
        };
        self.users.remove(&id);
        ResponseTemplate::new(204)
    }
}

impl Google {
    fn new(token_url: String) -> Self {
        let public_key =
            jsonwebtoken::DecodingKey::from_rsa_pem(fixture("google-test-key.pub.pem").as_bytes())
                .unwrap();
        Self {
            token_url,
            public_key,
            state: Arc::default(),
        }
    }

    fn add_user(&self, primary: &str, aliases: &[&str], external_ids: Vec<Value>) -> String {
        let mut state = self.state.lock().unwrap();
        state.made += 1;
        let id = format!("1042776304923950{:05}", state.made);
        state.users.insert(
            id.clone(),
            GoogleUser {
                primary_email: primary.into(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
                external_ids,
                password: "an employee's own password".into(),
            },
        );
        id
    }

    fn add_group(&self, addresses: &[&str]) {
        let group = addresses.iter().map(|a| a.to_string()).collect();
        self.state.lock().unwrap().groups.push(group);
    }

    fn lose_next_answer(&self) {
        self.state.lock().unwrap().answers_to_lose += 1;
    }

    fn ids(&self) -> Vec<String> {
        self.state.lock().unwrap().users.keys().cloned().collect()
    }

    fn user(&self, id: &str) -> Option<GoogleUser> {
        self.state.lock().unwrap().users.get(id).cloned()
    }

    fn posts(&self) -> Vec<Value> {
        self.state.lock().unwrap().posts.clone()
    }

    fn deleted(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.clone()
    }

    fn log(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    /// The JWT-bearer grant for the Directory user scope (the read-only
    /// scopes' token comes from a mock of the test's own).
    fn token(&self, form: &HashMap<String, String>) -> ResponseTemplate {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[&self.token_url]);
        validation.set_issuer(&["provisioner@test-project.iam.gserviceaccount.com"]);
        let assertion = form
            .get("assertion")
            .map(String::as_str)
            .unwrap_or_default();
        match jsonwebtoken::decode::<Value>(assertion, &self.public_key, &validation) {
            Ok(token)
                if form.get("grant_type").map(String::as_str)
                    == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
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

impl Respond for Google {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        if (method, path) == ("POST", "/token") {
            return self.token(&form(request));
        }
        let mut state = self.state.lock().unwrap();
        let token = bearer(request).unwrap_or_default().to_string();
        state.log.push((format!("{method} {path}"), token.clone()));
        let writes = method != "GET";
        match token.as_str() {
            GOOGLE_TOKEN => {}
            GOOGLE_READ_TOKEN if !writes => {}
            GOOGLE_READ_TOKEN => {
                return google_error(403, "Request had insufficient authentication scopes.")
            }
            _ => return google_error(401, "Request had invalid authentication credentials."),
        }
        let user_key = path.strip_prefix("/admin/directory/v1/users/");
        let group_key = path.strip_prefix("/admin/directory/v1/groups/");
        match (method, path, user_key, group_key) {
            ("POST", "/admin/directory/v1/users", _, _) => state.insert(&body(request)),
            ("GET", _, Some(key), _) => match state.find(key) {
                Some((id, user)) => Workspace::resource(id, user),
                None => google_error(404, "Resource Not Found: userKey"),
            },
            ("DELETE", _, Some(key), _) => state.delete(key),
            ("GET", _, _, Some(key)) => {
                match state.groups.iter().position(|g| g.iter().any(|a| same(a, key))) {
                    Some(n) => ResponseTemplate::new(200).set_body_json(
                        json!({ "kind": "admin#directory#group", "id": format!("group-{n}"), "email": state.groups[n][0] }),
                    ),
                    None => google_error(404, "Resource Not Found: groupKey"),
                }
            }
            _ => google_error(404, "Not Found"),
        }
    }
}

async fn google() -> (MockServer, Google, GoogleProvider) {
    let server = MockServer::start().await;
    let fake = Google::new(format!("{}/token", server.uri()));
    mount(&server, fake.clone()).await;
    let provider = google_at(&server.uri());
    (server, fake, provider)
}

#[tokio::test]
async fn google_clean_up_never_deletes_a_user_found_through_an_alias() {
    // support@ is Jane's alias: users.get(support@) answers Jane. Without a
    // mark, and even with one of this very token, she is not at support@.
    for external_ids in [Vec::new(), vec![google_mark(mark().token())]] {
        let (_server, fake, provider) = google().await;
        let (support, _) = support();
        let jane = fake.add_user("jane@example.com", &["support@example.com"], external_ids);

        provider
            .deprovision_marked(&support, &mark())
            .await
            .unwrap();

        assert_eq!(fake.deleted(), Vec::<String>::new(), "no DELETE at all");
        assert_eq!(fake.ids(), [jane.as_str()]);
        let looked_up = fake.log();
        assert_eq!(
            looked_up,
            [(
                "GET /admin/directory/v1/users/support@example.com".to_string(),
                GOOGLE_TOKEN.to_string()
            )]
        );
    }
}

#[tokio::test]
async fn google_clean_up_deletes_a_user_by_id_only_with_its_own_token() {
    let (_server, fake, provider) = google().await;
    let (support, _) = support();
    let theirs = fake.add_user(
        "support@example.com",
        &[],
        vec![
            google_mark("other-create"),
            // Our token, but under another custom type: not our mark.
            json!({ "type": "custom", "customType": "payroll", "value": mark().token() }),
        ],
    );
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert_eq!(fake.ids(), [theirs.as_str()]);

    provider
        .deprovision_marked(&support, &Mark::new("other-create"))
        .await
        .unwrap();
    assert_eq!(
        fake.deleted(),
        [theirs],
        "deleted by its id, not its address"
    );
    assert!(fake.ids().is_empty());

    let ours = fake.add_user(
        "support@example.com",
        &[],
        vec![google_mark(mark().token())],
    );
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted().last(), Some(&ours));
    assert!(fake.ids().is_empty());
}

#[tokio::test]
async fn google_entity_already_exists_is_success_only_for_this_creates_mark() {
    let (support, name) = support();

    let (_server, fake, provider) = google().await;
    let ours = fake.add_user(
        "support@example.com",
        &[],
        vec![google_mark(mark().token())],
    );
    let account = provider.provision(&support, &name, &mark()).await.unwrap();
    assert_eq!(account.provider_ref, ours);
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.ids(), [ours]);

    // Another create's user, an employee's, and an alias of an employee.
    let not_ours: [(&str, &[&str], Vec<Value>); 3] = [
        (
            "support@example.com",
            &[],
            vec![google_mark("other-create")],
        ),
        ("support@example.com", &[], Vec::new()),
        (
            "jane@example.com",
            &["support@example.com"],
            vec![google_mark(mark().token())],
        ),
    ];
    for (primary, aliases, external_ids) in not_ours {
        let (_server, fake, provider) = google().await;
        let theirs = fake.add_user(primary, aliases, external_ids);
        let error = provider
            .provision(&support, &name, &mark())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ProviderError::Rejected { .. }),
            "{primary}: {error:?}"
        );
        assert!(
            error.to_string().contains("already exists"),
            "{primary}: {error}"
        );
        assert_eq!(fake.posts().len(), 1);
        assert_eq!(fake.ids(), [theirs]);
        assert_eq!(fake.deleted(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn google_a_user_whose_create_answer_was_lost_is_found_by_its_mark() {
    let (_server, fake, provider) = google().await;
    let (support, name) = support();
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    assert_eq!(fake.posts().len(), 1, "the create is not repeated blindly");
    let ids = fake.ids();
    assert_eq!(ids, [account.provider_ref.as_str()]);
    let user = fake.user(&ids[0]).unwrap();
    assert_eq!(user.external_ids, [google_mark(mark().token())]);
    assert_eq!(user.password, account.password.expose());
}

#[tokio::test]
async fn google_the_directory_holds_users_aliases_and_groups_on_a_read_only_token() {
    let server = MockServer::start().await;
    let token_url = format!("{}/token", server.uri());
    let public_key =
        jsonwebtoken::DecodingKey::from_rsa_pem(fixture("google-test-key.pub.pem").as_bytes())
            .unwrap();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(SignedAssertion {
            public_key,
            audience: token_url.clone(),
            scope: GOOGLE_READ_SCOPES,
        })
        .respond_with(token_response(GOOGLE_READ_TOKEN))
        // Kept for the following look-ups.
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let fake = Google::new(token_url);
    mount(&server, fake.clone()).await;
    let provider = google_at(&server.uri());
    fake.add_user("jane@example.com", &["sales@example.com"], Vec::new());
    fake.add_group(&["team@example.com", "help@example.com"]);

    for (raw, held) in [
        ("jane@example.com", true),
        ("sales@example.com", true),
        ("team@example.com", true),
        ("help@example.com", true),
        ("nobody@example.com", false),
    ] {
        let before = fake.log().len();
        assert_eq!(provider.holds(&address(raw)).await.unwrap(), held, "{raw}");
        let asked = sorted(
            fake.log()[before..]
                .iter()
                .map(|(request, token)| format!("{request} {token}"))
                .collect(),
        );
        assert_eq!(
            asked,
            [
                format!("GET /admin/directory/v1/groups/{raw} {GOOGLE_READ_TOKEN}"),
                format!("GET /admin/directory/v1/users/{raw} {GOOGLE_READ_TOKEN}"),
            ]
        );
    }
    assert!(fake.posts().is_empty());
    assert!(fake.deleted().is_empty());
}

// The invocation's deadline ---------------------------------------------------

fn now_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_millis()).unwrap()
}

#[tokio::test]
async fn a_provider_call_fits_the_time_the_invocation_has_left() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{ "id": 1, "domain": "example.com", "valid": true }]))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    // Production's policy: 8 s a try, 3 tries; 4 s left, 3 s of them kept for the undo.
    let provider = SendGridProvider::new(
        ProviderHttp::new(RetryPolicy::default()),
        &server.uri(),
        settings(&[("SENDGRID_API_KEY", ADMIN_KEY)]),
    );
    let (support, name) = support();

    let started = Instant::now();
    let outcome = deadline::within(
        Some(now_ms() + 4_000),
        provider.provision(&support, &name, &mark()),
    )
    .await;
    let took = started.elapsed();

    let error = outcome.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(took < Duration::from_millis(1_800), "took {took:?}");
    assert!(
        took >= Duration::from_millis(800),
        "the provider's share (about 1 s) was used: {took:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
