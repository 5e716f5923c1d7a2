//! The API Gateway v2 events in `events/`, the same files that
//! `cargo lambda invoke --data-file` sends, adjusted per test.

use std::path::PathBuf;

use lambda_http::Request;
use serde_json::Value;

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// An event from `events/<name>.json`, to adjust and turn into a request.
pub struct Event(pub Value);

impl Event {
    pub fn load(name: &str) -> Self {
        let path = events_dir().join(format!("{name}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self(serde_json::from_str(&text).unwrap())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = Value::String(body.into());
        self
    }

    /// A body of raw bytes, base64-encoded as API Gateway passes binary bodies.
    pub fn bytes(mut self, body: &[u8]) -> Self {
        use base64::Engine;
        self.0["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
        self.0["isBase64Encoded"] = Value::Bool(true);
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.body(&body.to_string())
    }

    /// The verified `sub` claim, as API Gateway's JWT authorizer passes it.
    pub fn user(mut self, sub: &str) -> Self {
        self.0["requestContext"]["authorizer"] =
            serde_json::json!({ "jwt": { "claims": { "sub": sub } } });
        self
    }

    /// One more verified claim beside `sub` (call after `user`).
    pub fn claim(mut self, name: &str, value: &str) -> Self {
        self.0["requestContext"]["authorizer"]["jwt"]["claims"][name] = Value::String(value.into());
        self
    }

    /// API Gateway's id of the request, which the audit trail records.
    pub fn request_id(mut self, id: &str) -> Self {
        self.0["requestContext"]["requestId"] = Value::String(id.into());
        self
    }

    /// The path (raw and as API Gateway saw it) and its parameters.
    pub fn path(mut self, path: &str, parameters: Value) -> Self {
        self.0["rawPath"] = Value::String(path.into());
        self.0["requestContext"]["http"]["path"] = Value::String(path.into());
        self.0["pathParameters"] = parameters;
        self
    }

    pub fn anonymous(mut self) -> Self {
        if let Some(context) = self.0["requestContext"].as_object_mut() {
            context.remove("authorizer");
        }
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = Value::String(value.into());
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        if let Some(headers) = self.0["headers"].as_object_mut() {
            headers.remove(name);
        }
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.0["requestContext"]["http"]["method"] = Value::String(method.into());
        self
    }

    /// The account route for `address`, percent-encoded as a browser sends it.
    pub fn account(self, address: &str) -> Self {
        self.account_route(address, "")
    }

    /// The route of `action` (`rotate-credentials`, `disable`, `enable`) on `address`.
    pub fn account_action(self, address: &str, action: &str) -> Self {
        self.account_route(address, &format!("/{action}"))
    }

    fn account_route(mut self, address: &str, suffix: &str) -> Self {
        let path = format!(
            "/api/email/accounts/{}{suffix}",
            address.replace('@', "%40")
        );
        self.0["rawPath"] = Value::String(path.clone());
        self.0["requestContext"]["http"]["path"] = Value::String(path);
        self.0["pathParameters"] = serde_json::json!({ "email": address });
        self
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let map: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        // Encoded, as API Gateway passes it.
        self.0["rawQueryString"] =
            Value::String(serde_urlencoded::to_string(pairs).expect("pairs of strings encode"));
        self.0["queryStringParameters"] = Value::Object(map);
        self
    }

    pub fn request(&self) -> Request {
        self.try_request().expect("a valid API Gateway v2 event")
    }

    /// `None` for an event API Gateway could never send (a header value with a line break).
    pub fn try_request(&self) -> Option<Request> {
        lambda_http::request::from_str(&self.0.to_string()).ok()
    }
}
