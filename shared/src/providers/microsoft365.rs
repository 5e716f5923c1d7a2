//! Microsoft 365 through Microsoft Graph: a user (mailbox) per address,
//! created with an app's client-credentials token, optionally licensed.
//! Exchange Online turns SMTP AUTH with passwords off by default: unless the
//! administrator says it is allowed (`MICROSOFT_SMTP_AUTH=password`), the
//! credentials say `xoauth2` and the password is for signing in to Outlook.
//!
//! Each user it makes carries its mark in `employeeType`
//! (`email-provisioning:<token>`): a crash's clean-up deletes a user only
//! when it carries the dead create's mark, never by address alone, which
//! could be an employee's mailbox.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::http::ProviderHttp;
use super::oauth::{CachedToken, TokenResponse};
use super::{
    new_password, optional, required, Capacity, CompanyDirectory, Credential, IssuedCredential,
    MailProvider, MailboxSends, Mark, ProviderError, ProvisionedAccount,
};
use crate::domain::{DisplayName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpSettings};
use crate::secrets::ProviderSettings;

const NAME: &str = "microsoft365";
pub const DEFAULT_MICROSOFT_LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const DEFAULT_MICROSOFT_GRAPH_URL: &str = "https://graph.microsoft.com";

pub struct Microsoft365Provider {
    http: ProviderHttp,
    login_url: String,
    graph_url: String,
    settings: Arc<ProviderSettings>,
    token: CachedToken,
}

/// A licence the tenant bought (`subscribedSkus`): how many, how many given.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribedSku {
    sku_id: String,
    consumed_units: u64,
    prepaid_units: PrepaidUnits,
}

#[derive(Deserialize)]
struct PrepaidUnits {
    enabled: u64,
}

#[derive(Deserialize)]
struct SkuList {
    value: Vec<SubscribedSku>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    employee_type: Option<String>,
}

/// A page of a `$filter` query: only whether it found anything matters.
#[derive(Deserialize)]
struct Found {
    value: Vec<serde_json::Value>,
}

impl Microsoft365Provider {
    pub fn new(
        http: ProviderHttp,
        login_url: &str,
        graph_url: &str,
        settings: Arc<ProviderSettings>,
    ) -> Self {
        Self {
            http,
            login_url: login_url.trim_end_matches('/').to_string(),
            graph_url: graph_url.trim_end_matches('/').to_string(),
            settings,
            token: CachedToken::default(),
        }
    }

    async fn access_token(&self) -> Result<String, ProviderError> {
        self.token
            .get(|| async {
                let tenant = required(&self.settings, NAME, "MICROSOFT_TENANT_ID").await?;
                let client_id = required(&self.settings, NAME, "MICROSOFT_CLIENT_ID").await?;
                let secret = required(&self.settings, NAME, "MICROSOFT_CLIENT_SECRET").await?;
                let form = [
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.as_str()),
                    ("scope", "https://graph.microsoft.com/.default"),
                    ("grant_type", "client_credentials"),
                ];
                let response = self
                    .http
                    .send(NAME, &[], || {
                        self.http
                            .client()
                            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.login_url))
                            .form(&form)
                    })
                    .await?;
                ProviderHttp::json::<TokenResponse>(NAME, response).await
            })
            .await
    }

    /// The user at `address` if it carries `mark`; `None` for no user, or
    /// one this create did not make (an employee's, say).
    async fn marked_user(
        &self,
        token: &str,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<Option<GraphUser>, ProviderError> {
        let response = self
            .http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                self.http
                    .client()
                    .get(format!("{}/v1.0/users/{address}", self.graph_url))
                    .query(&[("$select", "id,employeeType")])
                    .bearer_auth(token)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let user: GraphUser = ProviderHttp::json(NAME, response).await?;
        let label = mark.label();
        Ok((user.employee_type.as_deref() == Some(label.as_str())).then_some(user))
    }

    /// Whether a `$filter` over `collection` (`users`, `groups`) finds
    /// anything. Filtering on `proxyAddresses` is an advanced query:
    /// Graph wants `ConsistencyLevel: eventual` and `$count`.
    async fn any_match(
        &self,
        token: &str,
        collection: &str,
        filter: &str,
    ) -> Result<bool, ProviderError> {
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!("{}/v1.0/{collection}", self.graph_url))
                    .query(&[
                        ("$filter", filter),
                        ("$select", "id"),
                        ("$top", "1"),
                        ("$count", "true"),
                    ])
                    .header("ConsistencyLevel", "eventual")
                    .bearer_auth(token)
            })
            .await?;
        let found: Found = ProviderHttp::json(NAME, response).await?;
        Ok(!found.value.is_empty())
    }

    async fn delete_user(&self, token: &str, id: &str) -> Result<(), ProviderError> {
        self.http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                self.http
                    .client()
                    .delete(format!("{}/v1.0/users/{id}", self.graph_url))
                    .bearer_auth(token)
            })
            .await?;
        Ok(())
    }

    /// `PATCH /users/{id}`: Graph answers 204 No Content.
    async fn update_user(&self, id: &str, body: &serde_json::Value) -> Result<(), ProviderError> {
        let token = self.access_token().await?;
        self.http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .patch(format!("{}/v1.0/users/{id}", self.graph_url))
                    .bearer_auth(&token)
                    .json(body)
            })
            .await?;
        Ok(())
    }

    async fn assign_licence(&self, token: &str, id: &str, sku: &str) -> Result<(), ProviderError> {
        let body =
            json!({ "addLicenses": [{ "skuId": sku, "disabledPlans": [] }], "removeLicenses": [] });
        self.http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .post(format!("{}/v1.0/users/{id}/assignLicense", self.graph_url))
                    .bearer_auth(token)
                    .json(&body)
            })
            .await?;
        Ok(())
    }
}

#[async_trait]
impl MailProvider for Microsoft365Provider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Microsoft365
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let token = self.access_token().await?;
        let password = new_password(NAME)?;
        let sku = optional(&self.settings, NAME, "MICROSOFT_LICENSE_SKU_ID").await?;
        let mut user = json!({
            "accountEnabled": true,
            "displayName": display_name.as_str(),
            "mailNickname": address.username().as_str(),
            "userPrincipalName": address.to_string(),
            "employeeType": mark.label(),
            "passwordProfile": {
                "forceChangePasswordNextSignIn": false,
                "password": password.expose(),
            },
        });
        if sku.is_some() {
            // Graph refuses a licence to a user without a usage location.
            let location = optional(&self.settings, NAME, "MICROSOFT_USAGE_LOCATION").await?;
            user["usageLocation"] = json!(location.unwrap_or_else(|| "US".into()));
        }
        let created: GraphUser = self
            .http
            .create_marked(
                NAME,
                || {
                    self.http
                        .client()
                        .post(format!("{}/v1.0/users", self.graph_url))
                        .bearer_auth(&token)
                        .json(&user)
                },
                || self.marked_user(&token, address, mark),
                "already exists",
                || format!("a user at {address} already exists in the tenant and this service did not make it"),
            )
            .await?;
        if let Some(sku) = sku {
            if let Err(error) = self.assign_licence(&token, &created.id, &sku).await {
                if let Err(cleanup) = self.delete_user(&token, &created.id).await {
                    tracing::error!(%address, error = %cleanup, "could not remove an unlicensed user");
                }
                return Err(error);
            }
        }
        let smtp_auth = optional(&self.settings, NAME, "MICROSOFT_SMTP_AUTH").await?;
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: "smtp.office365.com".into(),
                port: 587,
                username: address.to_string(),
                authentication: match smtp_auth.as_deref() {
                    Some("password") => SmtpAuthentication::Password,
                    _ => SmtpAuthentication::Xoauth2,
                },
            },
            password,
            webmail: Some("https://outlook.office.com/mail/".into()),
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

    /// By its id, and only if the user at the address carries the mark.
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

    /// A new password replaces the old one at once. Resetting another
    /// user's password needs the app to hold an administrator role
    /// (User Administrator) as well as `User.ReadWrite.All`.
    async fn issue_credential(
        &self,
        _address: &EmailAddress,
        current: &Credential,
        _mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        let password = new_password(NAME)?;
        let body = json!({
            "passwordProfile": {
                "forceChangePasswordNextSignIn": false,
                "password": password.expose(),
            },
        });
        self.update_user(&current.provider_ref, &body).await?;
        Ok(IssuedCredential {
            credential: current.clone(),
            password,
        })
    }

    /// With `MICROSOFT_LICENSE_SKU_ID`, each address takes one of its
    /// licences: bought (`prepaidUnits.enabled`) against given
    /// (`consumedUnits`). Needs `Organization.Read.All`.
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        let Some(sku) = optional(&self.settings, NAME, "MICROSOFT_LICENSE_SKU_ID").await? else {
            return Ok(None);
        };
        let token = self.access_token().await?;
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!("{}/v1.0/subscribedSkus", self.graph_url))
                    .bearer_auth(&token)
            })
            .await?;
        let skus: SkuList = ProviderHttp::json(NAME, response).await?;
        let bought = skus
            .value
            .into_iter()
            .find(|listed| listed.sku_id.eq_ignore_ascii_case(&sku))
            .ok_or_else(|| ProviderError::Rejected {
                provider: NAME,
                message: format!("the tenant has no licence {sku} (MICROSOFT_LICENSE_SKU_ID)"),
            })?;
        Ok(Some(Capacity {
            used: Some(bought.consumed_units),
            limit: bought.prepaid_units.enabled,
        }))
    }

    /// Sign-in blocked (`accountEnabled: false`): no SMTP, no Outlook.
    async fn set_sending(
        &self,
        _address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        self.update_user(&current.provider_ref, &json!({ "accountEnabled": allowed }))
            .await
    }

    /// `getEmailActivityUserDetail(date=…)`: a CSV (behind a redirect to a
    /// pre-authorized download) with a row per user; needs `Reports.Read.All`.
    /// A tenant that conceals user names in reports gives rows that name no
    /// address: they are left out (docs/MONITORING.md says how to turn that off).
    async fn daily_sends(
        &self,
        day: NaiveDate,
    ) -> Result<Option<Vec<MailboxSends>>, ProviderError> {
        let token = self.access_token().await?;
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!(
                        "{}/v1.0/reports/getEmailActivityUserDetail(date={day})",
                        self.graph_url
                    ))
                    .bearer_auth(&token)
            })
            .await?;
        let csv = response
            .text()
            .await
            .map_err(|error| ProviderError::Unavailable {
                provider: NAME,
                message: format!("the report could not be read: {}", error.without_url()),
            })?;
        report_rows(&csv).map(Some)
    }
}

/// A user whose address, `mail` or aliases (`proxyAddresses`) is the
/// address, or a group (distribution list, Microsoft 365 group) whose
/// `mail` or aliases are: two queries, sent together. Needs
/// `User.Read.All` and `Group.Read.All` (or `Directory.Read.All`).
#[async_trait]
impl CompanyDirectory for Microsoft365Provider {
    async fn holds(&self, address: &EmailAddress) -> Result<bool, ProviderError> {
        let token = self.access_token().await?;
        let alias = format!("proxyAddresses/any(x:x eq 'smtp:{address}')");
        let users = format!("userPrincipalName eq '{address}' or mail eq '{address}' or {alias}");
        let groups = format!("mail eq '{address}' or {alias}");
        let (user, group) = tokio::try_join!(
            self.any_match(&token, "users", &users),
            self.any_match(&token, "groups", &groups)
        )?;
        Ok(user || group)
    }
}

/// The rows of an email activity report: `User Principal Name` and `Send Count`.
fn report_rows(csv_text: &str) -> Result<Vec<MailboxSends>, ProviderError> {
    let unreadable = |message: String| ProviderError::Unavailable {
        provider: NAME,
        message: format!("the email activity report is not as documented: {message}"),
    };
    let mut reader = csv::Reader::from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| unreadable(e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| unreadable(format!("no {name:?} column")))
    };
    let (principal, sends) = (column("User Principal Name")?, column("Send Count")?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(e.to_string()))?;
        let Ok(address) = EmailAddress::parse(record.get(principal).unwrap_or_default()) else {
            continue;
        };
        let sends = record
            .get(sends)
            .unwrap_or_default()
            .parse()
            .map_err(|_| unreadable(format!("a Send Count of {address} is not a count")))?;
        rows.push(MailboxSends { address, sends });
    }
    Ok(rows)
}
