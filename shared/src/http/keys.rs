//! `/api/keys`: a person's API keys. Only a person signed in may make,
//! list or revoke keys: a key never reaches these routes.

use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde::{Deserialize, Serialize};

use super::handlers::serve;
use super::request::{caller, expect_method, expect_methods, json_body};
use super::views::json_response;
use super::ApiError;
use crate::config::SensitiveAction;
use crate::domain::{KeyName, KeyScopes};
use crate::service::{IssuedKey, NewKey};
use crate::store::ApiKeyRecord;
use crate::ReadApp;

pub(super) const KEYS_PATH: &str = "/api/keys";

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A key as its owner (or an administrator) sees it: never the key itself.
#[derive(Serialize)]
pub(super) struct KeyView {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    name: String,
    /// The key's first characters, to tell keys apart.
    prefix: String,
    scopes: Vec<&'static str>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl KeyView {
    pub(super) fn of(record: &ApiKeyRecord, with_owner: bool) -> Self {
        Self {
            id: record.id.to_string(),
            owner: with_owner.then(|| record.owner.to_string()),
            name: record.name.as_str().to_string(),
            prefix: record.prefix.clone(),
            scopes: record.scopes.iter().map(|scope| scope.as_str()).collect(),
            created_at: timestamp(record.created_at),
            expires_at: record.expires_at.map(timestamp),
            last_used_at: record.last_used_at.map(timestamp),
        }
    }
}

#[derive(Serialize)]
pub(super) struct KeysView {
    keys: Vec<KeyView>,
}

impl KeysView {
    pub(super) fn of(records: &[ApiKeyRecord], with_owner: bool) -> Self {
        Self {
            keys: records
                .iter()
                .map(|record| KeyView::of(record, with_owner))
                .collect(),
        }
    }
}

/// The 201 of a new key: the key itself, this once.
#[derive(Serialize)]
struct IssuedKeyView {
    #[serde(flatten)]
    view: KeyView,
    key: String,
}

#[derive(Serialize)]
pub(super) struct RevokedView {
    id: String,
    revoked: bool,
}

impl RevokedView {
    pub(super) fn of(id: &str) -> Self {
        Self {
            id: id.to_string(),
            revoked: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKeyBody {
    name: String,
    scopes: Vec<String>,
    expires_in_days: Option<u32>,
}

/// `POST /api/keys`, `GET /api/keys`, `DELETE /api/keys/{id}`.
pub async fn key_routes(app: &ReadApp, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, _request_id| async move {
        let person = caller(&req, app).await?;
        person.in_person("make, list or revoke API keys")?;
        person.second_factor(SensitiveAction::Keys, &app.mfa)?;
        let path = req.uri().path().trim_end_matches('/');
        if path == KEYS_PATH {
            expect_methods(&req, &[Method::GET, Method::POST])?;
            if req.method() == Method::GET {
                let keys = app.directory.keys(Some(&person.user)).await?;
                return Ok(json_response(StatusCode::OK, &KeysView::of(&keys, false)));
            }
            let body: NewKeyBody = json_body(&req)?;
            let issued = app
                .directory
                .issue_key(NewKey {
                    owner: person.user,
                    name: KeyName::parse(&body.name)?,
                    scopes: KeyScopes::parse(body.scopes.iter().map(String::as_str))?,
                    expires_in_days: body.expires_in_days,
                })
                .await?;
            let IssuedKey { record, secret } = issued;
            let view = IssuedKeyView {
                view: KeyView::of(&record, false),
                key: secret.expose().to_string(),
            };
            return Ok(json_response(StatusCode::CREATED, &view));
        }
        let id = path
            .strip_prefix(KEYS_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or(ApiError::UnknownRoute)?;
        expect_method(&req, Method::DELETE)?;
        app.directory.revoke_key(Some(&person.user), id).await?;
        Ok(json_response(StatusCode::OK, &RevokedView::of(id)))
    })
    .await
}
