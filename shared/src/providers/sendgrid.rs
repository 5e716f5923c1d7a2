//! SendGrid (API v3). An address is a sender on the authenticated domain
//! plus an API key whose only scope is `mail.send`; the key is the SMTP
//! password (user `apikey`). SendGrid scopes limit endpoints, not From
//! addresses: the key could send as any address of the authenticated domain
//! (the policy route says so: `least_privilege: false`).
//!
//! A key's name is its mark: `email-provisioning <address> <token>`, the
//! token of the create or rotation that made it. Removing an account
//! removes every key named for its address; a crash's clean-up only the
//! keys of the dead create's token.
//!
//! An account (and each subuser) holds at most 100 keys. With
//! `SENDGRID_SUBUSERS`, keys are made on behalf of the subuser with the
//! most free slots (`on-behalf-of`, through the parent's admin key), and a
//! key's ref names its holder (`<subuser>/<key id>`), so rotation, disable
//! and delete act there; a ref without one is the parent's.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::http::{Created, ProviderHttp};
use super::{
    optional, required, Capacity, Credential, IssuedCredential, MailProvider, Mark, ProviderError,
    ProvisionedAccount, SendingQuota,
};
use crate::domain::mail_dns::{CheckStatus, DkimSelector, ProviderVerdict};
use crate::domain::{
    DisplayName, DomainName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpPassword,
    SmtpSettings,
};
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
    /// The records its authentication asks for, by role (`mail_cname`,
    /// `dkim1`, `dkim2`).
    #[serde(default)]
    dns: BTreeMap<String, DomainRecord>,
}

#[derive(Deserialize)]
struct DomainRecord {
    #[serde(rename = "type")]
    kind: String,
    host: String,
    data: String,
}

/// SendGrid keeps at most this many API keys per account (or subuser).
const MAX_KEYS: u64 = 100;

#[derive(Deserialize)]
struct KeyList {
    result: Vec<ListedKey>,
}

#[derive(Deserialize)]
struct ListedKey {
    api_key_id: String,
    name: String,
}

fn key_name(address: &EmailAddress, mark: &Mark) -> String {
    format!("{} {address} {}", Mark::SERVICE, mark.token())
}

/// Whose key a name says it is: the address, and the mark's token (none
/// on keys named before marks had one).
fn key_owner(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix(Mark::SERVICE)?.strip_prefix(' ')?;
    Some(match rest.split_once(' ') {
        Some((address, token)) => (address, Some(token)),
        None => (rest, None),
    })
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

/// Whose keys a call handles: the account's own, or a subuser's through
/// the parent's admin key and `on-behalf-of`.
struct Holder {
    admin_key: String,
    subuser: Option<String>,
}

impl Holder {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        let request = request.bearer_auth(&self.admin_key);
        match &self.subuser {
            Some(subuser) => request.header("on-behalf-of", subuser),
            None => request,
        }
    }

    /// A key's ref: its id, after its subuser's name and `/` where one holds it.
    fn key_ref(&self, id: &str) -> String {
        match &self.subuser {
            Some(subuser) => format!("{subuser}/{id}"),
            None => id.to_string(),
        }
    }
}

/// The subuser a key's ref names (none: the parent's), and the key's id.
fn split_ref(provider_ref: &str) -> (Option<&str>, &str) {
    match provider_ref.split_once('/') {
        Some((subuser, id)) => (Some(subuser), id),
        None => (None, provider_ref),
    }
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

    async fn holder(&self, subuser: Option<&str>) -> Result<Holder, ProviderError> {
        Ok(Holder {
            admin_key: self.admin_key().await?,
            subuser: subuser.map(str::to_string),
        })
    }

    /// Who makes the keys of new addresses: the subusers of
    /// `SENDGRID_SUBUSERS`, or else the account itself.
    async fn key_makers(&self) -> Result<Vec<Holder>, ProviderError> {
        let admin_key = self.admin_key().await?;
        let subusers: Vec<String> = optional(&self.settings, NAME, "SENDGRID_SUBUSERS")
            .await?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        if subusers.is_empty() {
            return Ok(vec![Holder {
                admin_key,
                subuser: None,
            }]);
        }
        Ok(subusers
            .into_iter()
            .map(|subuser| Holder {
                admin_key: admin_key.clone(),
                subuser: Some(subuser),
            })
            .collect())
    }

    /// Every holder a key of this service may be at: the makers, and the
    /// account itself (keys made before subusers were configured).
    async fn every_holder(&self) -> Result<Vec<Holder>, ProviderError> {
        let mut holders = self.key_makers().await?;
        if holders.iter().all(|holder| holder.subuser.is_some()) {
            holders.push(self.holder(None).await?);
        }
        Ok(holders)
    }

    /// The maker with the most free slots, if it has room for a key and a
    /// rotation's spare. A lone maker is not counted here: the service
    /// read its capacity before the create.
    async fn roomiest_maker(&self) -> Result<Holder, ProviderError> {
        let mut makers = self.key_makers().await?;
        if makers.len() == 1 {
            return Ok(makers.remove(0));
        }
        let mut roomiest: Option<(u64, Holder)> = None;
        for holder in makers {
            let used = self.all_keys(&holder).await?.len() as u64;
            let free = MAX_KEYS.saturating_sub(used);
            if roomiest.as_ref().is_none_or(|(most, _)| free > *most) {
                roomiest = Some((free, holder));
            }
        }
        match roomiest {
            Some((free, holder)) if free >= 2 => Ok(holder),
            _ => Err(ProviderError::Rejected {
                provider: NAME,
                message: format!(
                    "every key holder (the account, or each of SENDGRID_SUBUSERS) has its {MAX_KEYS} API keys or all but one"
                ),
            }),
        }
    }

    /// SendGrid's domain authentication of `domain`, as `holder` sees it:
    /// validated or not, and the DKIM CNAMEs it asks for.
    async fn authentication_of(
        &self,
        holder: &Holder,
        domain: &DomainName,
    ) -> Result<ProviderVerdict, ProviderError> {
        let response = self
            .http
            .send(NAME, &[], || {
                holder
                    .authorize(
                        self.http
                            .client()
                            .get(format!("{}/v3/whitelabel/domains", self.api_url)),
                    )
                    .query(&[("domain", domain.as_str())])
            })
            .await?;
        let domains: Vec<AuthenticatedDomain> = ProviderHttp::json(NAME, response).await?;
        let Some(authenticated) = domains
            .iter()
            .find(|d| d.domain.eq_ignore_ascii_case(domain.as_str()))
        else {
            return Ok(ProviderVerdict {
                status: CheckStatus::Missing,
                found: "no domain authentication".into(),
                message: format!(
                    "{domain} is not an authenticated domain of this SendGrid account: SendGrid drops its mail until an administrator authenticates it (Settings › Sender Authentication › Authenticate Your Domain)"
                ),
                dkim: Vec::new(),
            });
        };
        let dkim = authenticated
            .dns
            .iter()
            .filter(|(role, record)| {
                role.starts_with("dkim") && record.kind.eq_ignore_ascii_case("cname")
            })
            .map(|(_, record)| DkimSelector::cname(&record.host, &record.data))
            .collect();
        if authenticated.valid {
            return Ok(ProviderVerdict {
                status: CheckStatus::Ok,
                found: "domain authentication validated".into(),
                message: format!("SendGrid sends for {domain}: its authentication is validated"),
                dkim,
            });
        }
        Ok(ProviderVerdict {
            status: CheckStatus::Wrong,
            found: "domain authentication not validated".into(),
            message: format!(
                "SendGrid has not validated the authentication of {domain}: publish its CNAMEs, then Settings › Sender Authentication › {domain} › Verify"
            ),
            dkim,
        })
    }

    /// A key made now could not send: SendGrid drops mail from a domain it
    /// has not authenticated. Refuse before creating anything.
    async fn ensure_domain_authenticated(
        &self,
        holder: &Holder,
        domain: &DomainName,
    ) -> Result<(), ProviderError> {
        let verdict = self.authentication_of(holder, domain).await?;
        if verdict.status == CheckStatus::Ok {
            return Ok(());
        }
        Err(ProviderError::Unavailable {
            provider: NAME,
            message: verdict.message,
        })
    }
}

#[async_trait]
impl MailProvider for SendGridProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sendgrid
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        _display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let holder = self.roomiest_maker().await?;
        self.ensure_domain_authenticated(&holder, address.domain())
            .await?;
        let created = self.create_key(&holder, address, mark).await?;
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: "smtp.sendgrid.net".into(),
                port: 587,
                username: "apikey".into(),
                authentication: SmtpAuthentication::Password,
            },
            password: SmtpPassword::new(created.api_key),
            webmail: None,
            provider_ref: holder.key_ref(&created.api_key_id),
        })
    }

    /// Every key named for the address: the account's, and any spare a
    /// rotation left when its revoke failed.
    async fn deprovision(
        &self,
        address: &EmailAddress,
        provider_ref: &str,
    ) -> Result<(), ProviderError> {
        let (subuser, id) = split_ref(provider_ref);
        let holder = self.holder(subuser).await?;
        self.delete_key(&holder, id).await?;
        for id in self.key_ids(&holder, address, None).await? {
            self.delete_key(&holder, &id).await?;
        }
        Ok(())
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        // The dead create never kept its ref: look at every holder.
        for holder in self.every_holder().await? {
            for id in self.key_ids(&holder, address, Some(mark)).await? {
                self.delete_key(&holder, &id).await?;
            }
        }
        Ok(())
    }

    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        let (subuser, current_id) = split_ref(&current.provider_ref);
        let holder = self.holder(subuser).await?;
        for id in self.key_ids(&holder, address, None).await? {
            if id != current_id {
                self.delete_key(&holder, &id).await?;
            }
        }
        let created = self.create_key(&holder, address, mark).await?;
        Ok(IssuedCredential {
            credential: Credential {
                provider_ref: holder.key_ref(&created.api_key_id),
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

    /// One API key per address (two during a rotation), of the 100 each
    /// key maker may hold (the account's admin key among its own), summed
    /// over the makers.
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        let makers = self.key_makers().await?;
        let mut used = 0;
        for holder in &makers {
            used += self.all_keys(holder).await?.len() as u64;
        }
        Ok(Some(Capacity {
            used: Some(used),
            limit: MAX_KEYS * makers.len() as u64,
        }))
    }

    async fn revoke_credential(
        &self,
        _address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        let (subuser, id) = split_ref(&replaced.provider_ref);
        self.delete_key(&self.holder(subuser).await?, id).await
    }

    /// The key stays (the user keeps their password); only its scopes
    /// change. Every key of the address's name changes, so a spare left by
    /// a rotation that died cannot go on sending either.
    /// As the first key maker sees it: the holder whose keys must send.
    async fn domain_verdict(
        &self,
        domain: &DomainName,
    ) -> Result<Option<ProviderVerdict>, ProviderError> {
        let maker = self.key_makers().await?.remove(0);
        self.authentication_of(&maker, domain).await.map(Some)
    }

    async fn set_sending(
        &self,
        address: &EmailAddress,
        current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        let holder = self.holder(split_ref(&current.provider_ref).0).await?;
        let scope = if allowed { SEND_SCOPE } else { STOPPED_SCOPE };
        for listed in self.keys_of(&holder, address, None).await? {
            // The name goes with the scopes in a PUT: it keeps its mark.
            let body = json!({ "name": listed.name, "scopes": [scope] });
            self.http
                .send(NAME, &[], || {
                    holder
                        .authorize(self.http.client().put(format!(
                            "{}/v3/api_keys/{}",
                            self.api_url, listed.api_key_id
                        )))
                        .json(&body)
                })
                .await?;
        }
        Ok(())
    }
}

impl SendGridProvider {
    /// A new key of `mark`. Its secret is in the create's answer only: if
    /// that answer is lost, the key made meanwhile (found by its mark) is of
    /// no use, so it is deleted before the create is tried again.
    async fn create_key(
        &self,
        holder: &Holder,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<CreatedKey, ProviderError> {
        let body = json!({
            "name": key_name(address, mark),
            "scopes": [SEND_SCOPE],
        });
        let created = self
            .http
            .create(
                NAME,
                || {
                    holder
                        .authorize(
                            self.http
                                .client()
                                .post(format!("{}/v3/api_keys", self.api_url)),
                        )
                        .json(&body)
                },
                || async {
                    for id in self.key_ids(holder, address, Some(mark)).await? {
                        self.delete_key(holder, &id).await?;
                    }
                    Ok(None::<Infallible>)
                },
            )
            .await?;
        match created {
            Created::Answered(response) => ProviderHttp::json(NAME, response).await,
            Created::Found(unusable) => match unusable {},
        }
    }

    /// The ids of the keys named for `address` (of `mark` only, if given).
    async fn key_ids(
        &self,
        holder: &Holder,
        address: &EmailAddress,
        mark: Option<&Mark>,
    ) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .keys_of(holder, address, mark)
            .await?
            .into_iter()
            .map(|listed| listed.api_key_id)
            .collect())
    }

    /// Every key of the holder (of the account: its admin key included).
    async fn all_keys(&self, holder: &Holder) -> Result<Vec<ListedKey>, ProviderError> {
        let response = self
            .http
            .send(NAME, &[], || {
                holder
                    .authorize(
                        self.http
                            .client()
                            .get(format!("{}/v3/api_keys", self.api_url)),
                    )
                    // A holder has at most 100 keys: one page has them all.
                    .query(&[("limit", "100")])
            })
            .await?;
        let keys: KeyList = ProviderHttp::json(NAME, response).await?;
        Ok(keys.result)
    }

    /// The keys named for `address` (of `mark` only, if given).
    async fn keys_of(
        &self,
        holder: &Holder,
        address: &EmailAddress,
        mark: Option<&Mark>,
    ) -> Result<Vec<ListedKey>, ProviderError> {
        let address = address.to_string();
        Ok(self
            .all_keys(holder)
            .await?
            .into_iter()
            .filter(|listed| match key_owner(&listed.name) {
                Some((owner, token)) => {
                    owner == address && mark.is_none_or(|mark| token == Some(mark.token()))
                }
                None => false,
            })
            .collect())
    }

    async fn delete_key(&self, holder: &Holder, id: &str) -> Result<(), ProviderError> {
        self.http
            .send(NAME, &[StatusCode::NOT_FOUND], || {
                holder.authorize(
                    self.http
                        .client()
                        .delete(format!("{}/v3/api_keys/{id}", self.api_url)),
                )
            })
            .await?;
        Ok(())
    }
}
