//! SendGrid (API v3). An address is a sender on the authenticated domain
//! plus an API key whose only scope is `mail.send`; the key is the SMTP
//! password (user `apikey`). SendGrid scopes limit endpoints, not From
//! addresses: the key could send as any address of the authenticated domain.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::http::ProviderHttp;
use super::{
    required, Credential, IssuedCredential, MailProvider, ProviderError, ProvisionedAccount,
    SendingQuota, SmtpPassword,
};
use crate::domain::{DisplayName, EmailAddress, SmtpAuthentication, SmtpSettings};
use crate::secrets::ProviderSettings;

const NAME: &str = "sendgrid";
const SEND_SCOPE: &str = "mail.send";
/// What a stopped key keeps: a read-only scope, since SendGrid gives a key
/// with no scope listed every scope instead of none.
const STOPPED_SCOPE: &str = "user.profile.read";
pub const DEFAULT_SENDGRID_API_URL: &str = "https://api.sendgrid.com";

pub struct SendGridProvider {
    http: ProviderHttp,
    api_url: String,
    settings: Arc<ProviderSettings>,
}

#[derive(Deserialize)]
struct AuthenticatedDomain {
    domain: String,
    valid: bool,
}

#[derive(Deserialize)]
struct KeyList {
    result: Vec<ListedKey>,
}

#[derive(Deserialize)]
struct ListedKey {
    api_key_id: String,
    name: String,
}

fn key_name(address: &EmailAddress) -> String {
    format!("email-provisioning {address}")
}

#[derive(Deserialize)]
struct Credits {
    total: f64,
    used: f64,
    reset_frequency: String,
}

#[derive(Deserialize)]
struct CreatedKey {
    api_key: String,
    api_key_id: String,
}

impl SendGridProvider {
    pub fn new(http: ProviderHttp, api_url: &str, settings: Arc<ProviderSettings>) -> Self {
        Self {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            settings,
        }
    }

    async fn admin_key(&self) -> Result<String, ProviderError> {
        required(&self.settings, NAME, "SENDGRID_API_KEY").await
    }

    /// A key made now could not send: SendGrid drops mail from a domain it
    /// has not authenticated. Refuse before creating anything.
    async fn ensure_domain_authenticated(
        &self,
        key: &str,
        domain: &str,
    ) -> Result<(), ProviderError> {
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!("{}/v3/whitelabel/domains", self.api_url))
                    .bearer_auth(key)
                    .query(&[("domain", domain)])
            })
            .await?;
        let domains: Vec<AuthenticatedDomain> = ProviderHttp::json(NAME, response).await?;
        if domains
            .iter()
            .any(|d| d.valid && d.domain.eq_ignore_ascii_case(domain))
        {
            return Ok(());
        }
        Err(ProviderError::Unavailable {
            provider: NAME,
            message: format!(
                "{domain} is not an authenticated domain of this SendGrid account; \
                 an administrator must complete its domain authentication first"
            ),
        })
    }
}

#[async_trait]
impl MailProvider for SendGridProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        _display_name: &DisplayName,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let key = self.admin_key().await?;
        self.ensure_domain_authenticated(&key, address.domain().as_str())
            .await?;
        let created = self.create_key(&key, address).await?;
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: "smtp.sendgrid.net".into(),
                port: 587,
                username: "apikey".into(),
                authentication: SmtpAuthentication::Password,
            },
            password: SmtpPassword::new(created.api_key),
            webmail: None,
            provider_ref: created.api_key_id,
        })
    }

    async fn deprovision(&self, provider_ref: &str) -> Result<(), ProviderError> {
        let key = self.admin_key().await?;
        self.delete_key(&key, provider_ref).await
    }

    async fn deprovision_address(&self, address: &EmailAddress) -> Result<(), ProviderError> {
        let key = self.admin_key().await?;
        for id in self.key_ids(&key, address).await? {
            self.delete_key(&key, &id).await?;
        }
        Ok(())
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
    ) -> Result<IssuedCredential, ProviderError> {
        let key = self.admin_key().await?;
        for id in self.key_ids(&key, address).await? {
            if id != current.provider_ref {
                self.delete_key(&key, &id).await?;
            }
        }
        let created = self.create_key(&key, address).await?;
        Ok(IssuedCredential {
            credential: Credential {
                provider_ref: created.api_key_id,
                smtp_username: current.smtp_username.clone(),
            },
            password: SmtpPassword::new(created.api_key),
        })
    }

    /// `GET /v3/user/credits`: the plan's credits for its reset period.
    async fn sending_quota(&self) -> Result<Option<SendingQuota>, ProviderError> {
        let key = self.admin_key().await?;
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!("{}/v3/user/credits", self.api_url))
                    .bearer_auth(&key)
            })
            .await?;
        let credits: Credits = ProviderHttp::json(NAME, response).await?;
        Ok(Some(SendingQuota {
            limit: credits.total,
            used: credits.used,
            period: credits.reset_frequency,
        }))
    }

    async fn revoke_credential(
        &self,
        _address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        self.deprovision(&replaced.provider_ref).await
    }

    /// The key stays (the user keeps their password); only its scopes
    /// change. Every key of the address's name changes, so a spare left by
    /// a rotation that died cannot go on sending either.
    async fn set_sending(
        &self,
        address: &EmailAddress,
        _current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        let key = self.admin_key().await?;
        let scope = if allowed { SEND_SCOPE } else { STOPPED_SCOPE };
        let body = json!({ "name": key_name(address), "scopes": [scope] });
        for id in self.key_ids(&key, address).await? {
            self.http
                .send(NAME, &[], || {
                    self.http
                        .client()
                        .put(format!("{}/v3/api_keys/{id}", self.api_url))
                        .bearer_auth(&key)
                        .json(&body)
                })
                .await?;
        }
        Ok(())
    }
}

impl SendGridProvider {
    async fn create_key(
        &self,
        key: &str,
        address: &EmailAddress,
    ) -> Result<CreatedKey, ProviderError> {
        let body = json!({
            "name": key_name(address),
            "scopes": [SEND_SCOPE],
        });
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .post(format!("{}/v3/api_keys", self.api_url))
                    .bearer_auth(key)
                    .json(&body)
            })
            .await?;
        ProviderHttp::json(NAME, response).await
    }

    /// The ids of the keys made for `address`, found by the name they were given.
    async fn key_ids(
        &self,
        key: &str,
        address: &EmailAddress,
    ) -> Result<Vec<String>, ProviderError> {
        let response = self
            .http
            .send(NAME, &[], || {
                self.http
                    .client()
                    .get(format!("{}/v3/api_keys", self.api_url))
                    .bearer_auth(key)
                    // An account holds at most 100 keys: one page has them all.
                    .query(&[("limit", "100")])
            })
            .await?;
        let keys: KeyList = ProviderHttp::json(NAME, response).await?;
        let name = key_name(address);
        Ok(keys
            .result
            .into_iter()
            .filter(|k| k.name == name)
            .map(|k| k.api_key_id)
            .collect())
    }

    async fn delete_key(&self, key: &str, id: &str) -> Result<(), ProviderError> {
        self.http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                self.http
                    .client()
                    .delete(format!("{}/v3/api_keys/{id}", self.api_url))
                    .bearer_auth(key)
            })
            .await?;
        Ok(())
    }
}
