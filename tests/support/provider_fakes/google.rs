//! A stateful fake of the Google Admin SDK Directory API for one Workspace,
//! with Google's OAuth token endpoint (`/token`). A token comes from the
//! JWT-bearer grant (RFC 7523): an assertion signed by the service
//! account's key, acting as the admin, for a scope. The user scope's token
//! (`GOOGLE_TOKEN`) reads and writes; the read-only scopes' token
//! (`GOOGLE_READ_TOKEN`) only reads, and a write with it is refused (403).
//! Users are made (`users.insert`: a name, a password of 8 to 100 ASCII
//! characters, an address no user or group holds), read (`users.get`),
//! changed (`users.update`, PUT: only the fields given) and deleted;
//! groups are read (`groups.get`). Each takes an id, the primary address
//! or an alias alike. A user carries its aliases, its `externalIds` (where
//! the service puts its mark), its password and whether it is suspended.
//! Google has no API to sign in with a password, so `signs_in` asks the
//! state instead. A create's answer can be lost (`lose_next_answer`): the
//! user is made, the answer comes too late. Every Directory API request is
//! logged with the token it carried.
//!
//! The Licensing API lists a SKU's assignments for a customer
//! (`licenseAssignments.listForProductAndSku`) on its own scope's token
//! (`GOOGLE_LICENSING_TOKEN`), at most two a page, so paging is exercised.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use provisioning::domain::SmtpPassword;
use provisioning::providers::GoogleProvider;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

use super::{
    bearer, body, fixture, google_at, mount, oauth_error, same, token_response, LostAnswers,
    SignedAssertion,
};

/// The scope of the Directory API's users, read and write.
pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// The scopes `CompanyDirectory::holds` asks for, space-separated as the adapter sends them.
pub const GOOGLE_READ_SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly https://www.googleapis.com/auth/admin.directory.group.readonly";
/// The token of `USER_SCOPE`.
pub const GOOGLE_TOKEN: &str = "ya29.token";
/// The token of the read-only directory scopes (`GOOGLE_READ_SCOPES`).
pub const GOOGLE_READ_TOKEN: &str = "ya29.read-only";
/// The scope of the Licensing API, and its token.
pub const LICENSING_SCOPE: &str = "https://www.googleapis.com/auth/apps.licensing";
pub const GOOGLE_LICENSING_TOKEN: &str = "ya29.licensing";
/// The customer whose licences the fake keeps.
pub const CUSTOMER_ID: &str = "C03az79cb";

/// Google Workspace's users and groups, and the tokens it grants.
#[derive(Clone)]
pub struct Google {
    /// Each grant the token endpoint makes: the assertion it takes, the token it gives.
    grants: Arc<[(SignedAssertion, &'static str)]>,
    state: Arc<Mutex<Workspace>>,
}

#[derive(Default)]
struct Workspace {
    users: BTreeMap<String, GoogleUser>,
    /// Each group's addresses: its email first, then its aliases.
    groups: Vec<Vec<String>>,
    made: u32,
    lost: LostAnswers,
    /// The body of every `users.insert`, in order.
    posts: Vec<Value>,
    /// What each DELETE named.
    deleted: Vec<String>,
    /// `METHOD /path` and the bearer token of every Directory API request.
    log: Vec<(String, String)>,
    /// The users given a licence, by `(product, sku)`.
    licences: BTreeMap<(String, String), Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct GoogleUser {
    pub primary_email: String,
    pub aliases: Vec<String>,
    pub external_ids: Vec<Value>,
    pub password: String,
    pub suspended: bool,
}

pub fn google_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "code": status, "message": message } }))
}

/// This service's mark on a Google user, for `token`.
pub fn google_mark(token: &str) -> Value {
    json!({ "type": "custom", "customType": "email-provisioning", "value": token })
}

/// The public half of the fixture service account's key.
pub fn public_key() -> jsonwebtoken::DecodingKey {
    jsonwebtoken::DecodingKey::from_rsa_pem(fixture("google-test-key.pub.pem").as_bytes()).unwrap()
}

/// A token request at `server`'s `/token` for `scope`, signed as Google
/// requires (`SignedAssertion`); the caller says what it answers.
pub fn token_request(server: &MockServer, scope: &'static str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(signed_for(&server.uri(), scope))
}

fn signed_for(server: &str, scope: &'static str) -> SignedAssertion {
    SignedAssertion {
        public_key: public_key(),
        audience: format!("{server}/token"),
        scope,
    }
}

/// The Directory API takes 8 to 100 ASCII characters.
fn valid_password(password: &Value) -> Option<String> {
    let password = password.as_str()?;
    ((8..=100).contains(&password.len()) && password.is_ascii()).then(|| password.into())
}

impl GoogleUser {
    fn answers_to(&self, key: &str) -> bool {
        same(&self.primary_email, key) || self.aliases.iter().any(|a| same(a, key))
    }
}

impl Google {
    /// The fake of the Workspace whose token endpoint is `{server}/token`.
    pub fn new(server: &str) -> Self {
        Self {
            grants: Arc::new([
                (signed_for(server, USER_SCOPE), GOOGLE_TOKEN),
                (signed_for(server, GOOGLE_READ_SCOPES), GOOGLE_READ_TOKEN),
                (signed_for(server, LICENSING_SCOPE), GOOGLE_LICENSING_TOKEN),
            ]),
            state: Arc::default(),
        }
    }

    /// `users` given a licence of `sku` of `product`.
    pub fn license(&self, product: &str, sku: &str, users: &[&str]) {
        let mut state = self.state.lock().unwrap();
        state
            .licences
            .entry((product.into(), sku.into()))
            .or_default()
            .extend(users.iter().map(|user| user.to_string()));
    }

    /// A server that the fake answers (token endpoint and Directory API
    /// alike), and the adapter on it.
    pub async fn start() -> (MockServer, Self, GoogleProvider) {
        let server = MockServer::start().await;
        let fake = Self::new(&server.uri());
        mount(&server, fake.clone()).await;
        let provider = google_at(&server.uri());
        (server, fake, provider)
    }

    /// A user made behind the adapter's back (an employee, say); its id.
    pub fn add_user(&self, primary: &str, aliases: &[&str], external_ids: Vec<Value>) -> String {
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
                suspended: false,
            },
        );
        id
    }

    /// A group: its email first, then its aliases.
    pub fn add_group(&self, addresses: &[&str]) {
        let group = addresses.iter().map(|a| a.to_string()).collect();
        self.state.lock().unwrap().groups.push(group);
    }

    pub fn lose_next_answer(&self) {
        self.state.lock().unwrap().lost.lose_next();
    }

    pub fn ids(&self) -> Vec<String> {
        self.state.lock().unwrap().users.keys().cloned().collect()
    }

    pub fn user(&self, id: &str) -> Option<GoogleUser> {
        self.state.lock().unwrap().users.get(id).cloned()
    }

    pub fn posts(&self) -> Vec<Value> {
        self.state.lock().unwrap().posts.clone()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.clone()
    }

    pub fn log(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    /// Whether a mail client would sign in as `email` with `password`: by
    /// the primary address (Google takes no alias for a sign-in), with the
    /// current password, not suspended.
    pub fn signs_in(&self, email: &str, password: &SmtpPassword) -> bool {
        let state = self.state.lock().unwrap();
        state.users.values().any(|u| {
            same(&u.primary_email, email) && u.password == password.expose() && !u.suspended
        })
    }

    /// The JWT-bearer grant (RFC 7523): the token of the scope the
    /// assertion was signed for, if it was signed as Google requires.
    fn token(&self, request: &Request) -> ResponseTemplate {
        match self
            .grants
            .iter()
            .find(|(signed, _)| signed.matches(request))
        {
            Some((_, token)) => token_response(token),
            None => oauth_error(400, "invalid_grant", "Invalid JWT Signature."),
        }
    }
}

impl Workspace {
    /// The Directory API takes an id, the primary address or an alias alike.
    fn find(&self, key: &str) -> Option<(&String, &GoogleUser)> {
        self.users
            .iter()
            .find(|(id, user)| *id == key || user.answers_to(key))
    }

    fn group(&self, key: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.iter().any(|a| same(a, key)))
    }

    fn resource(id: &str, user: &GoogleUser) -> ResponseTemplate {
        let mut resource = json!({
            "kind": "admin#directory#user", "id": id, "primaryEmail": user.primary_email,
            "isAdmin": false, "suspended": user.suspended,
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
        let required = ["/primaryEmail", "/name/givenName", "/name/familyName"];
        if let Some(missing) = required.iter().find(|f| user.pointer(f).is_none()) {
            return google_error(400, &format!("Invalid Input: {missing}"));
        }
        let Some(password) = valid_password(&user["password"]) else {
            return google_error(400, "Invalid Password");
        };
        let primary = user["primaryEmail"].as_str().unwrap_or_default();
        // An address is one object's: a user's (primary or alias) or a group's.
        if self.find(primary).is_some() || self.group(primary).is_some() {
            return google_error(409, "Entity already exists.");
        }
        self.made += 1;
        let id = format!("1042776304923950{:05}", self.made);
        let created = GoogleUser {
            primary_email: primary.into(),
            aliases: Vec::new(),
            external_ids: user["externalIds"].as_array().cloned().unwrap_or_default(),
            password,
            suspended: user["suspended"].as_bool().unwrap_or(false),
        };
        let resource = Self::resource(&id, &created);
        self.users.insert(id, created);
        self.lost.answer(resource)
    }

    /// `users.update` changes only the fields given.
    fn update(&mut self, key: &str, changes: &Value) -> ResponseTemplate {
        let password = match changes.get("password") {
            Some(given) => match valid_password(given) {
                Some(password) => Some(password),
                None => return google_error(400, "Invalid Password"),
            },
            None => None,
        };
        let suspended = changes.get("suspended");
        if suspended.is_some_and(|s| !s.is_boolean()) {
            return google_error(400, "Invalid Input: suspended");
        }
        let Some(id) = self.find(key).map(|(id, _)| id.clone()) else {
            return google_error(404, "Resource Not Found: userKey");
        };
        let user = self.users.get_mut(&id).unwrap();
        if let Some(password) = password {
            user.password = password;
        }
        if let Some(suspended) = suspended.and_then(Value::as_bool) {
            user.suspended = suspended;
        }
        Self::resource(&id, user)
    }

    /// `GET …/product/{product}/sku/{sku}/users?customerId=…`, two a page.
    fn assignments(&self, request: &Request, rest: &str) -> ResponseTemplate {
        let parts: Vec<&str> = rest.split('/').collect();
        let [product, "sku", sku, "users"] = parts.as_slice() else {
            return google_error(404, "Not Found");
        };
        let query = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if query("customerId").as_deref() != Some(CUSTOMER_ID) {
            return google_error(400, "Invalid customerId");
        }
        let users = self
            .licences
            .get(&(product.to_string(), sku.to_string()))
            .cloned()
            .unwrap_or_default();
        let start: usize = query("pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = users
            .iter()
            .skip(start)
            .take(2)
            .map(|user| json!({ "kind": "licensing#licenseAssignment", "productId": product, "skuId": sku, "userId": user }))
            .collect();
        let mut page = json!({ "kind": "licensing#licenseAssignmentList", "items": items });
        if start + 2 < users.len() {
            page["nextPageToken"] = json!((start + 2).to_string());
        }
        ResponseTemplate::new(200).set_body_json(page)
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

impl Respond for Google {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        if (method, path) == ("POST", "/token") {
            return self.token(request);
        }
        let mut state = self.state.lock().unwrap();
        let token = bearer(request).unwrap_or_default().to_string();
        state.log.push((format!("{method} {path}"), token.clone()));
        if let Some(rest) = path.strip_prefix("/apps/licensing/v1/product/") {
            return match token.as_str() {
                GOOGLE_LICENSING_TOKEN if method == "GET" => state.assignments(request, rest),
                _ => google_error(403, "Request had insufficient authentication scopes."),
            };
        }
        match token.as_str() {
            GOOGLE_TOKEN => {}
            GOOGLE_READ_TOKEN if method == "GET" => {}
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
            ("PUT", _, Some(key), _) => state.update(key, &body(request)),
            ("DELETE", _, Some(key), _) => state.delete(key),
            ("GET", _, _, Some(key)) => match state.group(key) {
                Some(n) => ResponseTemplate::new(200).set_body_json(
                    json!({ "kind": "admin#directory#group", "id": format!("group-{n}"), "email": state.groups[n][0] }),
                ),
                None => google_error(404, "Resource Not Found: groupKey"),
            },
            _ => google_error(404, "Not Found"),
        }
    }
}
