//! A stateful fake of SendGrid's v3 API. The admin key (`ADMIN_KEY`)
//! manages API keys (`/v3/api_keys`: list, create, `PUT` that replaces name
//! and scopes, delete) and reads the authenticated domains
//! (`/v3/whitelabel/domains`: example.com, validated unless
//! `invalidate_domain`, with its CNAMEs); any other key is refused with 401. Keys are
//! kept by id with their name (the adapter's carries the address and the
//! create's mark token), secret and scopes; a key asked for without scopes
//! has full access, as SendGrid documents. `POST /v3/mail/send` answers a
//! message sent with a key as SendGrid would: 202, 401 for a key it does
//! not know, 403 for one without `mail.send`. A create's answer can be lost
//! (`lose_next_answer`): the key is made, the answer comes too late. Every
//! request is logged as `METHOD /path`.
//!
//! Each key has a holder: the account, or a subuser (`add_subuser`) the
//! admin key acts for with `on-behalf-of`, as SendGrid's parent accounts
//! do; an unknown subuser is 403. A holder lists, changes and deletes only
//! its own keys, and holds at most 100, the account's admin key among its
//! own: SendGrid documents the limit, not its refusal's status, so the
//! fake answers 400 with its error body.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use provisioning::domain::SmtpPassword;
use provisioning::providers::SendGridProvider;
use serde_json::{json, Value};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use super::{bearer, body, http, mount, query, settings, sorted, LostAnswers};

/// The key that manages the others, which `SendGrid::start`'s adapter is given.
pub const ADMIN_KEY: &str = "SG.admin-key-that-must-never-leak";

/// What a key listed with no scopes gets: full access, `mail.send` included.
const FULL_ACCESS: &[&str] = &[
    "api_keys.create",
    "api_keys.delete",
    "api_keys.read",
    "api_keys.update",
    "mail.send",
    "user.profile.read",
];

/// SendGrid's API keys, by id.
#[derive(Clone, Default)]
pub struct SendGrid(Arc<Mutex<Keys>>);

#[derive(Default)]
struct Keys {
    by_id: BTreeMap<String, ApiKey>,
    /// The account's subusers, whose keys the admin key manages.
    subusers: Vec<String>,
    /// Domains whose authentication SendGrid has not validated (it has
    /// validated example.com's unless listed here).
    unvalidated: Vec<String>,
    made: u32,
    lost: LostAnswers,
    /// Every request, as `METHOD /path`.
    log: Vec<String>,
}

struct ApiKey {
    /// `""` for the account's own; else the subuser's name.
    holder: String,
    name: String,
    secret: String,
    scopes: Vec<String>,
}

/// SendGrid's error body.
pub fn sendgrid_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "errors": [{ "field": null, "message": message }] }))
}

/// The SendGrid adapter at `server`, managing keys with `admin_key`.
pub fn sendgrid_at(server: &str, admin_key: &str) -> SendGridProvider {
    SendGridProvider::new(http(), server, settings(&[("SENDGRID_API_KEY", admin_key)]))
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

impl SendGrid {
    /// A server that the fake answers, and the adapter on it with `ADMIN_KEY`.
    pub async fn start() -> (MockServer, Self, SendGridProvider) {
        let server = MockServer::start().await;
        let fake = Self::default();
        mount(&server, fake.clone()).await;
        let provider = sendgrid_at(&server.uri(), ADMIN_KEY);
        (server, fake, provider)
    }

    /// A send-only key made behind the adapter's back (by an earlier
    /// create, a rotation that died, or someone else); its id.
    pub fn add_key(&self, name: &str) -> String {
        self.add_key_with_secret(name).0
    }

    /// As `add_key`; its id and its secret, to send mail with.
    pub fn add_key_with_secret(&self, name: &str) -> (String, SmtpPassword) {
        let mut keys = self.0.lock().unwrap();
        let (id, secret) = keys.create("", name, vec!["mail.send".into()]);
        (id, SmtpPassword::new(secret))
    }

    /// A subuser of the account, holding `keys` keys already (other software's).
    pub fn add_subuser(&self, name: &str, keys: usize) {
        let mut held = self.0.lock().unwrap();
        held.subusers.push(name.into());
        for n in 0..keys {
            held.create(name, &format!("another app {n}"), vec!["mail.send".into()]);
        }
    }

    /// example.com's domain authentication is no longer valid (its records
    /// were removed, say), as SendGrid's next validation would find.
    pub fn invalidate_domain(&self, domain: &str) {
        self.0.lock().unwrap().unvalidated.push(domain.into());
    }

    /// The account's own keys up to `count`, the admin key counted.
    pub fn fill_account_to(&self, count: usize) {
        let mut held = self.0.lock().unwrap();
        while held.held_by("") < count {
            let n = held.made;
            held.create("", &format!("another app {n}"), vec!["mail.send".into()]);
        }
    }

    /// How many keys `holder` has (`""`: the account, its admin key counted).
    pub fn held_by(&self, holder: &str) -> usize {
        self.0.lock().unwrap().held_by(holder)
    }

    /// The holder of the key `id`.
    pub fn holder_of(&self, id: &str) -> Option<String> {
        let keys = self.0.lock().unwrap();
        keys.by_id.get(id).map(|key| key.holder.clone())
    }

    pub fn lose_next_answer(&self) {
        self.0.lock().unwrap().lost.lose_next();
    }

    pub fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().by_id.keys().cloned().collect()
    }

    /// Every key's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let keys = self.0.lock().unwrap();
        sorted(keys.by_id.values().map(|k| k.name.clone()).collect())
    }

    /// The ids of the keys whose name is for `address` (any token, or none).
    pub fn ids_for(&self, address: &str) -> Vec<String> {
        let prefix = format!("email-provisioning {address}");
        let keys = self.0.lock().unwrap();
        keys.by_id
            .iter()
            .filter(|(_, key)| key.name == prefix || key.name.starts_with(&format!("{prefix} ")))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The key's secret and scopes.
    pub fn key(&self, id: &str) -> Option<(String, Vec<String>)> {
        let keys = self.0.lock().unwrap();
        keys.by_id
            .get(id)
            .map(|key| (key.secret.clone(), key.scopes.clone()))
    }

    pub fn log(&self) -> Vec<String> {
        self.0.lock().unwrap().log.clone()
    }

    /// How many times `request` (`METHOD /path`) was made.
    pub fn count(&self, request: &str) -> usize {
        self.log().iter().filter(|line| *line == request).count()
    }
}

/// Keys a holder may have.
const MAX_KEYS: usize = 100;

impl Keys {
    /// The account's admin key is one of its own.
    fn held_by(&self, holder: &str) -> usize {
        let own = self
            .by_id
            .values()
            .filter(|key| key.holder == holder)
            .count();
        if holder.is_empty() {
            own + 1
        } else {
            own
        }
    }

    fn create(&mut self, holder: &str, name: &str, scopes: Vec<String>) -> (String, String) {
        self.made += 1;
        let id = format!("key-id-{}", self.made);
        let secret = format!("SG.{id}.secret-{}", self.made);
        let key = ApiKey {
            holder: holder.into(),
            name: name.into(),
            secret: secret.clone(),
            scopes,
        };
        self.by_id.insert(id.clone(), key);
        (id, secret)
    }

    /// 202 accepted, 401 for a key SendGrid does not know, 403 for one
    /// without `mail.send`.
    fn send_mail(&self, request: &Request) -> ResponseTemplate {
        let Some(key) = bearer(request).and_then(|b| self.by_id.values().find(|k| k.secret == b))
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

impl Respond for SendGrid {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (method, path) = (request.method.as_str(), request.url.path());
        let mut keys = self.0.lock().unwrap();
        keys.log.push(format!("{method} {path}"));
        if (method, path) == ("POST", "/v3/mail/send") {
            return keys.send_mail(request);
        }
        if bearer(request) != Some(ADMIN_KEY) {
            return sendgrid_error(401, "authorization required");
        }
        let holder = request
            .headers
            .get("on-behalf-of")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !holder.is_empty() && !keys.subusers.contains(&holder) {
            return sendgrid_error(403, "access forbidden");
        }
        let body = body(request);
        match (method, path) {
            // The one authenticated domain, with its records as SendGrid's
            // automated security lists them.
            ("GET", "/v3/whitelabel/domains") => {
                let authenticated =
                    query(request, "domain").is_none_or(|domain| domain == "example.com");
                let valid = !keys
                    .unvalidated
                    .iter()
                    .any(|domain| domain == "example.com");
                let record = |host: &str, data: &str| json!({ "valid": valid, "type": "cname", "host": host, "data": data });
                let domains: Vec<Value> = authenticated
                    .then(|| {
                        json!({
                            "id": 1, "domain": "example.com", "subdomain": "em123",
                            "automatic_security": true, "valid": valid,
                            "dns": {
                                "mail_cname": record("em123.example.com", "u123.wl.sendgrid.net"),
                                "dkim1": record("s1._domainkey.example.com", "s1.domainkey.u123.wl.sendgrid.net"),
                                "dkim2": record("s2._domainkey.example.com", "s2.domainkey.u123.wl.sendgrid.net"),
                            }
                        })
                    })
                    .into_iter()
                    .collect();
                ResponseTemplate::new(200).set_body_json(domains)
            }
            ("GET", "/v3/api_keys") => {
                // The account's own list has its admin key too.
                let admin = holder
                    .is_empty()
                    .then(|| json!({ "api_key_id": "admin-key-id", "name": "admin" }));
                let result: Vec<Value> = admin
                    .into_iter()
                    .chain(
                        keys.by_id
                            .iter()
                            .filter(|(_, key)| key.holder == holder)
                            .map(|(id, key)| json!({ "api_key_id": id, "name": key.name })),
                    )
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "result": result }))
            }
            ("POST", "/v3/api_keys") => {
                let Some(name) = body["name"].as_str() else {
                    return sendgrid_error(400, "missing required argument: name");
                };
                if keys.held_by(&holder) >= MAX_KEYS {
                    return sendgrid_error(400, "Maximum number of API keys reached");
                }
                let scopes = requested_scopes(&body);
                let (id, secret) = keys.create(&holder, name, scopes.clone());
                keys.lost.answer(ResponseTemplate::new(201).set_body_json(
                    json!({ "api_key": secret, "api_key_id": id, "name": name, "scopes": scopes }),
                ))
            }
            (method, path) => match (method, path.strip_prefix("/v3/api_keys/")) {
                ("DELETE", Some(id))
                    if keys.by_id.get(id).is_some_and(|key| key.holder == holder) =>
                {
                    keys.by_id.remove(id);
                    ResponseTemplate::new(204)
                }
                ("DELETE", Some(_)) => sendgrid_error(404, "unable to find API Key"),
                ("PUT", Some(id)) => {
                    let Some(name) = body["name"].as_str() else {
                        return sendgrid_error(400, "missing required argument: name");
                    };
                    let Some(key) = keys.by_id.get_mut(id).filter(|key| key.holder == holder)
                    else {
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
