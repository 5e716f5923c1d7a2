//! Google Workspace through the Admin SDK Directory API: a user per address,
//! created with a service account's token (domain-wide delegation, acting as
//! `GOOGLE_ADMIN_EMAIL`). Gmail refuses a plain account password over SMTP
//! (app passwords need 2-Step Verification and cannot be made through the
//! Admin SDK): the credentials say `xoauth2`, the password signs in to Gmail.
//!
//! Each user it makes carries its mark as an external id (`type: custom`,
//! `customType: email-provisioning`, the create's token as `value`). The
//! Directory API finds a user by an alias as well as by its primary
//! address, so a clean-up deletes only a user whose primary address is the
//! address and whose mark is the dead create's.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::ProviderHttp;
use super::oauth::{CachedToken, TokenResponse};
use super::{
    new_password, optional, required, Capacity, CompanyDirectory, Credential, IssuedCredential,
    MailProvider, MailboxSends, Mark, ProviderError, ProvisionedAccount,
};
use crate::domain::{DisplayName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpSettings};
use crate::secrets::ProviderSettings;

const NAME: &str = "google";
pub const DEFAULT_GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const DEFAULT_GOOGLE_ADMIN_URL: &str = "https://admin.googleapis.com";
const DIRECTORY_USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// For the daily usage reports only: its own token, so a delegation that
/// does not grant it never stops creates.
const USAGE_REPORTS_SCOPE: &str = "https://www.googleapis.com/auth/admin.reports.usage.readonly";
/// For the look-ups of addresses the directory already has: users and groups, read only.
/// For the count of licences of `GOOGLE_LICENSE_SKU_ID` only.
const LICENSING_SCOPE: &str = "https://www.googleapis.com/auth/apps.licensing";
pub const DEFAULT_GOOGLE_LICENSING_URL: &str = "https://licensing.googleapis.com";
const DIRECTORY_READ_SCOPES: &str =
    "https://www.googleapis.com/auth/admin.directory.user.readonly \
    https://www.googleapis.com/auth/admin.directory.group.readonly";

pub struct GoogleProvider {
    http: ProviderHttp,
    token_url: String,
    admin_url: String,
    settings: Arc<ProviderSettings>,
    token: CachedToken,
    reports_token: CachedToken,
    directory_token: CachedToken,
    licensing_token: CachedToken,
}

/// The fields of a service account key file this adapter uses.
#[derive(Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// A page of the Licensing API's assignments of a SKU.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicencePage {
    #[serde(default)]
    items: Vec<serde_json::Value>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsagePage {
    #[serde(default)]
    usage_reports: Vec<UsageReport>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct UsageReport {
    entity: UsageEntity,
    #[serde(default)]
    parameters: Vec<UsageParameter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageEntity {
    user_email: Option<String>,
}

/// Google sends 64-bit integers as strings (`"intValue": "12"`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageParameter {
    name: String,
    int_value: Option<String>,
}

impl UsageReport {
    fn sends(self) -> Option<MailboxSends> {
        let address = EmailAddress::parse(self.entity.user_email.as_deref()?).ok()?;
        let sends = self
            .parameters
            .iter()
            .find(|parameter| parameter.name == "gmail:num_emails_sent")?
            .int_value
            .as_deref()?
            .parse()
            .ok()?;
        Some(MailboxSends { address, sends })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryUser {
    id: String,
    primary_email: Option<String>,
    #[serde(default)]
    external_ids: Vec<ExternalId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalId {
    #[serde(rename = "type")]
    kind: Option<String>,
    custom_type: Option<String>,
    value: Option<String>,
}

impl DirectoryUser {
    /// This service made it, for the create `mark` names, at `address` itself (not an alias).
    fn is_marked(&self, address: &EmailAddress, mark: &Mark) -> bool {
        self.primary_email
            .as_deref()
            .is_some_and(|primary| primary.eq_ignore_ascii_case(&address.to_string()))
            && self.external_ids.iter().any(|id| {
                id.kind.as_deref() == Some("custom")
                    && id.custom_type.as_deref() == Some(Mark::SERVICE)
                    && id.value.as_deref() == Some(mark.token())
            })
    }
}

fn unavailable(message: String) -> ProviderError {
    ProviderError::Unavailable {
        provider: NAME,
        message,
    }
}

impl GoogleProvider {
    pub fn new(
        http: ProviderHttp,
        token_url: &str,
        admin_url: &str,
        settings: Arc<ProviderSettings>,
    ) -> Self {
        Self {
            http,
            token_url: token_url.to_string(),
            admin_url: admin_url.trim_end_matches('/').to_string(),
            settings,
            token: CachedToken::default(),
            reports_token: CachedToken::default(),
            directory_token: CachedToken::default(),
            licensing_token: CachedToken::default(),
        }
    }

    /// `GOOGLE_SERVICE_ACCOUNT_JSON` holds the key file's JSON, or a path to it.
    async fn service_account(&self) -> Result<ServiceAccount, ProviderError> {
        let raw = required(&self.settings, NAME, "GOOGLE_SERVICE_ACCOUNT_JSON").await?;
        let json = if raw.trim_start().starts_with('{') {
            raw
        } else {
            std::fs::read_to_string(raw.trim()).map_err(|e| {
                unavailable(format!(
                    "cannot read GOOGLE_SERVICE_ACCOUNT_JSON's file: {e}"
                ))
            })?
        };
        serde_json::from_str(&json).map_err(|_| {
            unavailable("GOOGLE_SERVICE_ACCOUNT_JSON is not a service account key".into())
        })
    }

    /// Every page of a Google list (`pageToken`, `nextPageToken`), each
    /// handed to `each`, which answers the next page's token.
    async fn every_page<P: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        url: &str,
        query: &[(&str, &str)],
        mut each: impl FnMut(P) -> Option<String>,
    ) -> Result<(), ProviderError> {
        let mut page_token: Option<String> = None;
        loop {
            let response = self
                .http
                .send(NAME, &[], || {
                    let request = self.http.client().get(url).bearer_auth(token).query(query);
                    match &page_token {
                        Some(page) => request.query(&[("pageToken", page)]),
                        None => request,
                    }
                })
                .await?;
            let page: P = ProviderHttp::json(NAME, response).await?;
            match each(page) {
                Some(next) if !next.is_empty() => page_token = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// The Directory API's token.
    async fn access_token(&self) -> Result<String, ProviderError> {
        self.token_for(&self.token, DIRECTORY_USER_SCOPE).await
    }

    /// A signed JWT (RS256) exchanged for a token of `scope` (RFC 7523),
    /// kept in `cache` until shortly before it expires.
    async fn token_for(&self, cache: &CachedToken, scope: &str) -> Result<String, ProviderError> {
        cache
            .get(|| async {
                let account = self.service_account().await?;
                let admin = required(&self.settings, NAME, "GOOGLE_ADMIN_EMAIL").await?;
                let now = chrono::Utc::now().timestamp();
                let claims = Assertion {
                    iss: &account.client_email,
                    sub: &admin,
                    scope,
                    aud: &self.token_url,
                    iat: now,
                    exp: now + 3600,
                };
                let mut header = Header::new(Algorithm::RS256);
                header.kid = account.private_key_id.clone();
                let key =
                    EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|_| {
                        unavailable("the service account's private_key is not an RSA key".into())
                    })?;
                let assertion = jsonwebtoken::encode(&header, &claims, &key)
                    .map_err(|e| unavailable(format!("cannot sign the token request: {e}")))?;
                let form = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ];
                let response = self
                    .http
                    .send(NAME, &[], || {
                        self.http.client().post(&self.token_url).form(&form)
                    })
                    .await?;
                ProviderHttp::json::<TokenResponse>(NAME, response).await
            })
            .await
    }
}

#[async_trait]
impl MailProvider for GoogleProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Google
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let token = self.access_token().await?;
        let password = new_password(NAME)?;
        // The Directory API wants both names; a one-word name is a mailbox's.
        let (given, family) = display_name
            .as_str()
            .split_once(' ')
            .unwrap_or((display_name.as_str(), "Mailbox"));
        let user = json!({
            "primaryEmail": address.to_string(),
            "name": { "givenName": given, "familyName": family },
            "password": password.expose(),
            "changePasswordAtNextLogin": false,
            "externalIds": [{ "type": "custom", "customType": Mark::SERVICE, "value": mark.token() }],
        });
        // Google's "Entity already exists." is a 409.
        let created: DirectoryUser = self
            .http
            .create_marked(
                NAME,
                || {
                    self.http
                        .client()
                        .post(format!("{}/admin/directory/v1/users", self.admin_url))
                        .bearer_auth(&token)
                        .json(&user)
                },
                || self.marked_user(&token, address, mark),
                "HTTP 409",
                || format!("a user or alias at {address} already exists in the domain and this service did not make it"),
            )
            .await?;
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: "smtp.gmail.com".into(),
                port: 587,
                username: address.to_string(),
                authentication: SmtpAuthentication::Xoauth2,
            },
            password,
            webmail: Some("https://mail.google.com/".into()),
            provider_ref: created.id,
        })
    }

    /// The user the account's record names, by its id: one password, no spares.
    async fn deprovision(
        &self,
        _address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        let token = self.access_token().await?;
        self.delete_user(&token, provider_ref).await
    }

    /// By its id, and only a user whose primary address is the address and
    /// which carries the mark: `users.get` by address also finds aliases.
    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        let token = self.access_token().await?;
        match self.marked_user(&token, address, mark).await? {
            Some(user) => self.delete_user(&token, &user.id).await,
            None => Ok(()),
        }
    }

    /// A new password replaces the old one at once.
    async fn issue_credential(
        &self,
        _address: &EmailAddress,
        current: &Credential,
        _mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        let password = new_password(NAME)?;
        let body = json!({ "password": password.expose(), "changePasswordAtNextLogin": false });
        self.update_user(&current.provider_ref, &body).await?;
        Ok(IssuedCredential {
            credential: current.clone(),
            password,
        })
    }

    /// The Reports API's user usage report of `day`: `gmail:num_emails_sent`
    /// per user, page by page. Google publishes a day's report after two or
    /// three days; a day not published yet has no rows (and a warning).
    async fn daily_sends(
        &self,
        day: NaiveDate,
    ) -> Result<Option<Vec<MailboxSends>>, ProviderError> {
        let token = self
            .token_for(&self.reports_token, USAGE_REPORTS_SCOPE)
            .await?;
        let mut rows = Vec::new();
        let url = format!(
            "{}/admin/reports/v1/usage/users/all/dates/{day}",
            self.admin_url
        );
        let query = [
            ("parameters", "gmail:num_emails_sent"),
            ("maxResults", "1000"),
        ];
        self.every_page(&token, &url, &query, |page: UsagePage| {
            rows.extend(
                page.usage_reports
                    .into_iter()
                    .filter_map(UsageReport::sends),
            );
            page.next_page_token
        })
        .await?;
        Ok(Some(rows))
    }

    /// With `GOOGLE_LICENSE_SKU_ID` (of `GOOGLE_LICENSE_PRODUCT_ID`, for
    /// `GOOGLE_CUSTOMER_ID`) and `GOOGLE_LICENSE_COUNT` (how many were
    /// bought: the Licensing API does not say), each address takes one of
    /// its licences, counted by the Licensing API's assignments.
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        let setting = |key| optional(&self.settings, NAME, key);
        let Some(sku) = setting("GOOGLE_LICENSE_SKU_ID").await? else {
            return Ok(None);
        };
        let product = required(&self.settings, NAME, "GOOGLE_LICENSE_PRODUCT_ID").await?;
        let customer = required(&self.settings, NAME, "GOOGLE_CUSTOMER_ID").await?;
        let limit = required(&self.settings, NAME, "GOOGLE_LICENSE_COUNT")
            .await?
            .trim()
            .parse::<u64>()
            .map_err(|_| unavailable("GOOGLE_LICENSE_COUNT is not a whole number".into()))?;
        let base = setting("GOOGLE_LICENSING_URL")
            .await?
            .unwrap_or_else(|| DEFAULT_GOOGLE_LICENSING_URL.into());
        let token = self
            .token_for(&self.licensing_token, LICENSING_SCOPE)
            .await?;
        let url = format!(
            "{}/apps/licensing/v1/product/{product}/sku/{sku}/users",
            base.trim_end_matches('/')
        );
        let query = [("customerId", customer.as_str()), ("maxResults", "1000")];
        let mut used = 0;
        self.every_page(&token, &url, &query, |page: LicencePage| {
            used += page.items.len() as u64;
            page.next_page_token
        })
        .await?;
        Ok(Some(Capacity {
            used: Some(used),
            limit,
        }))
    }

    /// A suspended user can neither sign in nor send.
    async fn set_sending(
        &self,
        _address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        self.update_user(&current.provider_ref, &json!({ "suspended": !allowed }))
            .await
    }
}

/// `users.get` and `groups.get` by the address: each finds a primary
/// address or an alias (404 when neither has it). Two requests, sent
/// together, on a token of the read-only directory scopes (the delegation
/// must grant `admin.directory.user.readonly` and
/// `admin.directory.group.readonly`).
#[async_trait]
impl CompanyDirectory for GoogleProvider {
    async fn holds(&self, address: &EmailAddress) -> Result<bool, ProviderError> {
        let token = self
            .token_for(&self.directory_token, DIRECTORY_READ_SCOPES)
            .await?;
        let (user, group) = tokio::try_join!(
            self.found(&token, "users", address),
            self.found(&token, "groups", address)
        )?;
        Ok(user || group)
    }
}

impl GoogleProvider {
    /// `GET /admin/directory/v1/{collection}/{address}`, which finds a
    /// primary address or an alias; `None` when neither has it.
    async fn get(
        &self,
        token: &str,
        collection: &str,
        address: &EmailAddress,
    ) -> Result<Option<Response>, ProviderError> {
        let response = self
            .http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                self.http
                    .client()
                    .get(format!(
                        "{}/admin/directory/v1/{collection}/{address}",
                        self.admin_url
                    ))
                    .bearer_auth(token)
            })
            .await?;
        Ok((response.status() != StatusCode::NOT_FOUND).then_some(response))
    }

    async fn found(
        &self,
        token: &str,
        collection: &str,
        address: &EmailAddress,
    ) -> Result<bool, ProviderError> {
        Ok(self.get(token, collection, address).await?.is_some())
    }

    /// The user `users.get` finds at `address`, if this service made it there for `mark`.
    async fn marked_user(
        &self,
        token: &str,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<Option<DirectoryUser>, ProviderError> {
        let Some(response) = self.get(token, "users", address).await? else {
            return Ok(None);
        };
        let user: DirectoryUser = ProviderHttp::json(NAME, response).await?;
        Ok(user.is_marked(address, mark).then_some(user))
    }

    async fn delete_user(&self, token: &str, user_key: &str) -> Result<(), ProviderError> {
        self.http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                self.http
                    .client()
                    .delete(format!(
                        "{}/admin/directory/v1/users/{user_key}",
                        self.admin_url
                    ))
                    .bearer_auth(token)
            })
            .await?;
        Ok(())
    }

    /// `users.update` (PUT) takes only the fields to change.
    async fn update_user(
        &self,
        user_key: &str,
        body: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        let token = self.access_token().await?;
        self.http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .put(format!(
                        "{}/admin/directory/v1/users/{user_key}",
                        self.admin_url
                    ))
                    .bearer_auth(&token)
                    .json(body)
            })
            .await?;
        Ok(())
    }
}
