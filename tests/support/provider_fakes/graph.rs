//! A stateful fake of Microsoft Graph's users and groups in one tenant,
//! with Entra ID's token endpoint. The app gets its token with the
//! client-credentials grant (its id, secret and the `.default` scope);
//! with it Graph creates users (`POST /users`, a password the default
//! complexity policy takes), reads one (`GET /users/{id | UPN}`: with
//! `$select`, only what it names; without it, the default properties,
//! which leave `employeeType`, the service's mark, out), changes one
//! (`PATCH`, 204) and deletes one, and answers `$filter` queries over
//! `/users` and `/groups` (`eq` on `mail` or `userPrincipalName`, and the
//! `proxyAddresses/any(...)` lambda: an advanced query, which Graph serves
//! only with `ConsistencyLevel: eventual` and `$count=true`). A mail client
//! signs in with the password grant, refused for a wrong (an old) password,
//! a disabled account or a password that must be changed first. A create's
//! answer can be lost (`lose_next_answer`): the user is made, the answer
//! comes too late.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use provisioning::providers::Microsoft365Provider;
use serde_json::{json, Map, Value};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use super::{
    bearer, body, form, http, mount, oauth_error, query, same, settings, token_response,
    LostAnswers,
};

pub const TENANT: &str = "tenant-1";
pub const CLIENT_ID: &str = "app-1";
pub const CLIENT_SECRET: &str = "app-secret";
/// The app's token, for the client-credentials grant.
pub const GRAPH_TOKEN: &str = "graph-token";

/// Entra ID's users and groups, as Graph keeps them for the app's token.
#[derive(Clone, Default)]
pub struct Graph(Arc<Mutex<Tenant>>);

#[derive(Default)]
struct Tenant {
    users: BTreeMap<String, GraphUser>,
    groups: Vec<GraphGroup>,
    made: u32,
    lost: LostAnswers,
    /// The body of every user create, in order.
    posts: Vec<Value>,
    /// What each DELETE named.
    deleted: Vec<String>,
    /// `(collection, $filter)` of every directory query.
    queries: Vec<(String, String)>,
    /// The licences the tenant bought (`subscribedSkus`): sku id, bought, given.
    skus: Vec<(String, u64, u64)>,
}

#[derive(Clone, Debug)]
pub struct GraphUser {
    pub upn: String,
    pub mail: Option<String>,
    /// The service's mark (`Mark::label`), or what the tenant put there.
    pub employee_type: Option<String>,
    /// `SMTP:` the primary address, `smtp:` each alias.
    pub proxy_addresses: Vec<String>,
    /// `None` for a user given no password (one who signs in elsewhere).
    pub password: Option<String>,
    pub must_change_password: bool,
    pub enabled: bool,
}

struct GraphGroup {
    mail: String,
    proxy_addresses: Vec<String>,
}

impl GraphUser {
    /// An enabled user at `upn`, its mail and primary proxy address too,
    /// with a password of its own, and `employee_type`.
    pub fn new(upn: &str, employee_type: Option<&str>) -> Self {
        Self {
            upn: upn.into(),
            mail: Some(upn.into()),
            employee_type: employee_type.map(str::to_string),
            proxy_addresses: vec![format!("SMTP:{upn}")],
            password: Some("the employee's own password".into()),
            must_change_password: false,
            enabled: true,
        }
    }
}

pub fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": code, "message": message } }))
}

/// What Graph answers for a user it does not find, by any key and any method.
fn not_found(key: &str) -> ResponseTemplate {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
    )
}

/// The Microsoft 365 adapter at `server` (token endpoint and Graph alike),
/// as the tenant's app, with `extra` settings.
pub fn microsoft_at(server: &str, extra: &[(&str, &str)]) -> Microsoft365Provider {
    let mut pairs = vec![
        ("MICROSOFT_TENANT_ID", TENANT),
        ("MICROSOFT_CLIENT_ID", CLIENT_ID),
        ("MICROSOFT_CLIENT_SECRET", CLIENT_SECRET),
    ];
    pairs.extend_from_slice(extra);
    Microsoft365Provider::new(http(), server, server, settings(&pairs))
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
    /// A server that the fake answers (token endpoint and Graph alike), and
    /// the adapter on it as the tenant's app.
    pub async fn start() -> (MockServer, Self, Microsoft365Provider) {
        let server = MockServer::start().await;
        let fake = Self::default();
        mount(&server, fake.clone()).await;
        let provider = microsoft_at(&server.uri(), &[]);
        (server, fake, provider)
    }

    /// A user made behind the adapter's back; its id.
    pub fn add_user(&self, user: GraphUser) -> String {
        let mut tenant = self.0.lock().unwrap();
        tenant.made += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", tenant.made);
        tenant.users.insert(id.clone(), user);
        id
    }

    /// A licence the tenant bought: `bought` of them, `given` in use.
    pub fn add_sku(&self, sku_id: &str, bought: u64, given: u64) {
        self.0
            .lock()
            .unwrap()
            .skus
            .push((sku_id.into(), bought, given));
    }

    pub fn add_group(&self, mail: &str, proxy_addresses: &[&str]) {
        self.0.lock().unwrap().groups.push(GraphGroup {
            mail: mail.into(),
            proxy_addresses: proxy_addresses.iter().map(|p| p.to_string()).collect(),
        });
    }

    pub fn lose_next_answer(&self) {
        self.0.lock().unwrap().lost.lose_next();
    }

    pub fn users(&self) -> BTreeMap<String, GraphUser> {
        self.0.lock().unwrap().users.clone()
    }

    pub fn posts(&self) -> Vec<Value> {
        self.0.lock().unwrap().posts.clone()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.0.lock().unwrap().deleted.clone()
    }

    pub fn queries(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().queries.clone()
    }

    /// The app's client-credentials grant, and a mail client's password grant.
    fn token(&self, form: &HashMap<String, String>) -> ResponseTemplate {
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("client_id").is_none() || field("scope").is_none() {
            return oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id' and 'scope'.");
        }
        match field("grant_type") {
            Some("client_credentials") => {
                if field("client_id") != Some(CLIENT_ID)
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
                let tenant = self.0.lock().unwrap();
                match tenant.find(field("username").unwrap_or_default()) {
                    None => oauth_error(400, "invalid_grant", "AADSTS50034: The user account does not exist in the directory."),
                    Some((_, user)) if user.password.as_deref() != field("password") => oauth_error(400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password."),
                    Some((_, user)) if !user.enabled => oauth_error(400, "invalid_grant", "AADSTS50057: The user account is disabled."),
                    Some((_, user)) if user.must_change_password => oauth_error(400, "invalid_grant", "AADSTS50055: The password is expired."),
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

impl Tenant {
    /// Graph takes a user's UPN wherever it takes its id.
    fn find(&self, key: &str) -> Option<(&String, &GraphUser)> {
        self.users
            .iter()
            .find(|(id, user)| *id == key || same(&user.upn, key))
    }

    fn create(&mut self, user: &Value) -> ResponseTemplate {
        self.posts.push(user.clone());
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
            mail: Some(upn.into()),
            employee_type: user["employeeType"].as_str().map(str::to_string),
            proxy_addresses: vec![format!("SMTP:{upn}")],
            password: Some(password),
            must_change_password,
            enabled: user["accountEnabled"].as_bool().unwrap_or(false),
        };
        self.users.insert(id.clone(), created);
        self.lost.answer(
            ResponseTemplate::new(201).set_body_json(json!({ "id": id, "userPrincipalName": upn })),
        )
    }

    /// `GET /users/{id | userPrincipalName}`. `employeeType` (and
    /// `accountEnabled`) are not among the properties Graph returns by
    /// default; with `$select`, Graph returns only the properties it names
    /// (`id` too only if named).
    fn get(&self, key: &str, select: Option<&str>) -> ResponseTemplate {
        let Some((id, user)) = self.find(key) else {
            return not_found(key);
        };
        let properties = json!({
            "id": id, "userPrincipalName": user.upn, "mail": user.mail,
            "accountEnabled": user.enabled, "employeeType": user.employee_type,
        });
        let mut selected = Map::new();
        for name in select.unwrap_or("id,userPrincipalName,mail").split(',') {
            let Some(value) = properties.get(name) else {
                return graph_error(
                    400,
                    "Request_BadRequest",
                    &format!(
                        "Could not find a property named '{name}' on type 'microsoft.graph.user'."
                    ),
                );
            };
            selected.insert(name.into(), value.clone());
        }
        ResponseTemplate::new(200).set_body_json(selected)
    }

    /// `PATCH /users/{id | userPrincipalName}` changes only the fields given.
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
        let Some(id) = self.find(key).map(|(id, _)| id.clone()) else {
            return not_found(key);
        };
        let user = self.users.get_mut(&id).unwrap();
        if let Some((password, must_change)) = profile {
            user.password = Some(password);
            user.must_change_password = must_change;
        }
        if let Some(enabled) = enabled.and_then(Value::as_bool) {
            user.enabled = enabled;
        }
        ResponseTemplate::new(204)
    }

    fn delete(&mut self, key: &str) -> ResponseTemplate {
        self.deleted.push(key.into());
        let Some(id) = self.find(key).map(|(id, _)| id.clone()) else {
            return not_found(key);
        };
        self.users.remove(&id);
        ResponseTemplate::new(204)
    }

    /// `GET /users` or `/groups` with `$filter`: an advanced query (a lambda
    /// on `proxyAddresses`), which Graph serves only with
    /// `ConsistencyLevel: eventual` and `$count=true`. `$top` limits the
    /// page, not the count.
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
        let mut value = match found {
            Ok(value) => value,
            Err(refusal) => return graph_error(400, "Request_UnsupportedQuery", &refusal),
        };
        let count = value.len();
        if let Some(top) = query(request, "$top").and_then(|top| top.parse().ok()) {
            value.truncate(top);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "@odata.count": count, "value": value }))
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
            // subscribedSku, as Graph answers it (the fields the adapter reads, and a few more).
            ("GET", "/v1.0/subscribedSkus", _) => {
                let value: Vec<Value> = tenant
                    .skus
                    .iter()
                    .map(|(sku, bought, given)| {
                        json!({
                            "skuId": sku, "skuPartNumber": "O365_BUSINESS_ESSENTIALS",
                            "capabilityStatus": "Enabled", "appliesTo": "User",
                            "consumedUnits": given,
                            "prepaidUnits": { "enabled": bought, "suspended": 0, "warning": 0 },
                        })
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "value": value }))
            }
            ("GET", _, Some(key)) => tenant.get(key, query(request, "$select").as_deref()),
            ("PATCH", _, Some(key)) => tenant.update(key, &body(request)),
            ("DELETE", _, Some(key)) => tenant.delete(key),
            _ => graph_error(
                400,
                "BadRequest",
                &format!("Unsupported request: {method} {path}"),
            ),
        }
    }
}
