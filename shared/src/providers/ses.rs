//! AWS SES v2. An address is an email identity (unless its domain is already
//! a verified identity) plus an IAM user whose only right is to send from
//! that address; its access key becomes SMTP credentials, the password
//! derived from the secret key with AWS's documented algorithm.
//!
//! Each IAM user is made with the stack's permissions boundary (it can
//! never do more than send, whatever policy it is given) and tagged with
//! its mark. Removal touches a user only if it carries the service's mark
//! (a crash's clean-up: the dead create's token), and an address identity
//! only if that user's tags say this service made it.

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use aws_sdk_iam::types::SummaryKeyType;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::{DkimStatus, VerificationStatus};

use super::{
    Capacity, Credential, IssuedCredential, MailProvider, Mark, ProviderError, ProvisionedAccount,
    SendingQuota,
};
use crate::domain::mail_dns::{CheckStatus, DkimSelector, ProviderVerdict};
use crate::domain::{
    DisplayName, DomainName, EmailAddress, ProviderKind, SmtpAuthentication, SmtpPassword,
    SmtpSettings,
};

const NAME: &str = "ses";
const POLICY_NAME: &str = "send-as-address";
/// Put on a stopped account's user: an explicit deny beats its allow.
const STOP_POLICY_NAME: &str = "stopped-sending";
/// The user's tags: the address it sends as, its mark, and whether this
/// service made the address's own SES identity (then it removes it too).
const ADDRESS_TAG: &str = "email-provisioning:address";
const MARK_TAG: &str = "email-provisioning:mark";
const IDENTITY_TAG: &str = "email-provisioning:identity";
const IDENTITY_MADE: &str = "made";

/// Whose an IAM user is, read from its tags.
struct UserTags {
    mark: Option<Mark>,
    identity_made: bool,
}

pub struct SesProvider {
    ses: aws_sdk_sesv2::Client,
    iam: aws_sdk_iam::Client,
    region: String,
    /// IAM path of the users we create, e.g. `/email-provisioning/`.
    iam_path: String,
    configuration_set: Option<String>,
    /// The managed policy every user is made with as its permissions boundary.
    permissions_boundary: Option<String>,
}

/// Where the SES adapter's users go and what bounds them.
pub struct SesSettings {
    pub region: String,
    pub iam_path: String,
    pub configuration_set: Option<String>,
    pub permissions_boundary: Option<String>,
}

impl SesProvider {
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        iam: aws_sdk_iam::Client,
        settings: SesSettings,
    ) -> Self {
        Self {
            ses,
            iam,
            region: settings.region,
            iam_path: settings.iam_path,
            configuration_set: settings.configuration_set,
            permissions_boundary: settings.permissions_boundary,
        }
    }

    async fn domain_is_verified(&self, address: &EmailAddress) -> Result<bool, ProviderError> {
        Ok(self.identity_verdict(address.domain()).await?.status == CheckStatus::Ok)
    }

    /// The domain identity's verification and DKIM, as SES reports them.
    async fn identity_verdict(
        &self,
        domain: &DomainName,
    ) -> Result<ProviderVerdict, ProviderError> {
        match self
            .ses
            .get_email_identity()
            .email_identity(domain.as_str())
            .send()
            .await
        {
            Ok(identity) => Ok(verdict_of(domain, &identity)),
            Err(error) if is_not_found(&error) => Ok(ProviderVerdict {
                status: CheckStatus::Missing,
                found: "no identity".into(),
                message: format!(
                    "{domain} is not an identity of this SES account ({region}): create it (SES console › Identities › Create identity › Domain, or `aws sesv2 create-email-identity --email-identity {domain}`) and publish the three DKIM CNAMEs it gives",
                    region = self.region
                ),
                dkim: Vec::new(),
            }),
            Err(error) => Err(aws_error(error)),
        }
    }

    /// The address's own identity, when its domain is not verified. One
    /// that exists already was not made here: it is left to whoever made it.
    async fn create_identity(
        &self,
        address: &EmailAddress,
        user: &str,
    ) -> Result<(), ProviderError> {
        let created = self
            .ses
            .create_email_identity()
            .email_identity(address.to_string())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match created {
            Ok(_) => {
                self.iam
                    .tag_user()
                    .user_name(user)
                    .tags(tag(IDENTITY_TAG, IDENTITY_MADE)?)
                    .send()
                    .await
                    .map_err(aws_error)?;
                Ok(())
            }
            Err(error) if error.code() == Some("AlreadyExistsException") => Ok(()),
            Err(error) => Err(aws_error(error)),
        }
    }

    /// The user, made with the boundary and the mark. One that exists is
    /// this create's only if it carries this mark (an answer lost before
    /// the SDK's retry); anything else is not ours to use.
    async fn create_user(
        &self,
        address: &EmailAddress,
        user: &str,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        let created = self
            .iam
            .create_user()
            .user_name(user)
            .path(&self.iam_path)
            .set_permissions_boundary(self.permissions_boundary.clone())
            .tags(tag(ADDRESS_TAG, &address.to_string())?)
            .tags(tag(MARK_TAG, &mark.label())?)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("EntityAlreadyExists") => {
                match self.user_tags(user).await? {
                    Some(tags) if tags.mark.as_ref() == Some(mark) => Ok(()),
                    _ => Err(rejected(format!(
                        "an IAM user named {user} already exists and this create did not make it"
                    ))),
                }
            }
            Err(error) => Err(aws_error(error)),
        }
    }

    /// What the user's tags say of it; `None` when there is no such user.
    async fn user_tags(&self, user: &str) -> Result<Option<UserTags>, ProviderError> {
        let listed = match self.iam.list_user_tags().user_name(user).send().await {
            Ok(listed) => listed,
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(error) => return Err(aws_error(error)),
        };
        let value = |key: &str| {
            listed
                .tags()
                .iter()
                .find(|tag| tag.key() == key)
                .map(|tag| tag.value().to_string())
        };
        Ok(Some(UserTags {
            mark: value(MARK_TAG).as_deref().and_then(Mark::from_label),
            identity_made: value(IDENTITY_TAG).as_deref() == Some(IDENTITY_MADE),
        }))
    }

    async fn grant_sending(
        &self,
        address: &EmailAddress,
        user: &str,
    ) -> Result<(String, String), ProviderError> {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["ses:SendRawEmail", "ses:SendEmail"],
                "Resource": "*",
                "Condition": { "StringEquals": { "ses:FromAddress": address.to_string() } }
            }]
        });
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(POLICY_NAME)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(aws_error)?;
        // A user left by a crashed attempt may hold keys; IAM allows two.
        self.delete_access_keys(user, None).await?;
        self.create_access_key(user).await
    }

    /// A new access key: its id and secret.
    async fn create_access_key(&self, user: &str) -> Result<(String, String), ProviderError> {
        let key = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(aws_error)?;
        let key = key
            .access_key()
            .ok_or_else(|| rejected("IAM returned no access key".into()))?;
        Ok((
            key.access_key_id().to_string(),
            key.secret_access_key().to_string(),
        ))
    }

    /// Deletes the user's access keys but `keep`.
    async fn delete_access_keys(
        &self,
        user: &str,
        keep: Option<&str>,
    ) -> Result<(), ProviderError> {
        let keys = match self.iam.list_access_keys().user_name(user).send().await {
            Ok(keys) => keys,
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(error) => return Err(aws_error(error)),
        };
        for key in keys.access_key_metadata() {
            if let Some(id) = key.access_key_id().filter(|id| Some(*id) != keep) {
                ignore_not_found(
                    self.iam
                        .delete_access_key()
                        .user_name(user)
                        .access_key_id(id)
                        .send()
                        .await,
                )?;
            }
        }
        Ok(())
    }

    /// Removes what `provision` made for `address`, in reverse, if its
    /// user carries this service's mark (`only`'s, when given); what is
    /// already gone is skipped, and what is not ours is left alone.
    async fn remove(
        &self,
        address: &EmailAddress,
        only: Option<&Mark>,
    ) -> Result<(), ProviderError> {
        let user = iam_user_name(address);
        let Some(tags) = self.user_tags(&user).await? else {
            return Ok(());
        };
        let ours = match (&tags.mark, only) {
            (Some(mark), Some(only)) => mark == only,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !ours {
            tracing::warn!(%address, "an IAM user at this address does not carry this service's mark: left alone");
            return Ok(());
        }
        self.delete_access_keys(&user, None).await?;
        for policy in [POLICY_NAME, STOP_POLICY_NAME] {
            self.delete_user_policy(&user, policy).await?;
        }
        ignore_not_found(self.iam.delete_user().user_name(&user).send().await)?;
        // Only the address's own identity, and only one this service made.
        if tags.identity_made {
            ignore_not_found(
                self.ses
                    .delete_email_identity()
                    .email_identity(address.to_string())
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    async fn delete_user_policy(&self, user: &str, policy: &str) -> Result<(), ProviderError> {
        ignore_not_found(
            self.iam
                .delete_user_policy()
                .user_name(user)
                .policy_name(policy)
                .send()
                .await,
        )
    }

    async fn provision_parts(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(String, String), ProviderError> {
        let user = iam_user_name(address);
        self.create_user(address, &user, mark).await?;
        if !self.domain_is_verified(address).await? {
            self.create_identity(address, &user).await?;
        }
        self.grant_sending(address, &user).await
    }
}

#[async_trait]
impl MailProvider for SesProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Ses
    }

    async fn provision(
        &self,
        address: &EmailAddress,
        _display_name: &DisplayName,
        mark: &Mark,
    ) -> Result<ProvisionedAccount, ProviderError> {
        let (key_id, secret) = match self.provision_parts(address, mark).await {
            Ok(key) => key,
            Err(error) => {
                // Nothing half-made stays behind; the original error is the answer.
                if let Err(cleanup) = self.remove(address, Some(mark)).await {
                    tracing::error!(%address, error = %cleanup, "could not undo a partial SES provisioning");
                }
                return Err(error);
            }
        };
        Ok(ProvisionedAccount {
            smtp: SmtpSettings {
                server: format!("email-smtp.{}.amazonaws.com", self.region),
                port: 587,
                username: key_id,
                authentication: SmtpAuthentication::Password,
            },
            password: smtp_password(&secret, &self.region),
            webmail: None,
            provider_ref: address.to_string(),
        })
    }

    /// The user and every access key it holds (a spare of a rotation too).
    async fn deprovision(
        &self,
        address: &EmailAddress,
        _provider_ref: &str,
    ) -> Result<(), ProviderError> {
        self.remove(address, None).await
    }

    async fn deprovision_marked(
        &self,
        address: &EmailAddress,
        mark: &Mark,
    ) -> Result<(), ProviderError> {
        self.remove(address, Some(mark)).await
    }

    /// A second access key beside the current one (IAM allows two: any
    /// other, left by a rotation that died, goes first).
    async fn issue_credential(
        &self,
        address: &EmailAddress,
        current: &Credential,
        _mark: &Mark,
    ) -> Result<IssuedCredential, ProviderError> {
        let user = iam_user_name(address);
        self.delete_access_keys(&user, Some(&current.smtp_username))
            .await?;
        let (key_id, secret) = self.create_access_key(&user).await?;
        Ok(IssuedCredential {
            credential: Credential {
                provider_ref: current.provider_ref.clone(),
                smtp_username: key_id,
            },
            password: smtp_password(&secret, &self.region),
        })
    }

    /// SES v2 `GetAccount`: the rolling 24-hour send quota and its use.
    async fn sending_quota(&self) -> Result<Option<SendingQuota>, ProviderError> {
        let account = self.ses.get_account().send().await.map_err(aws_error)?;
        Ok(account.send_quota().map(|quota| SendingQuota {
            limit: quota.max24_hour_send(),
            used: quota.sent_last24_hours(),
            period: "24h".into(),
        }))
    }

    /// One IAM user per address, against the AWS account's IAM user quota
    /// (every user of the account counts, not only this service's).
    async fn capacity(&self) -> Result<Option<Capacity>, ProviderError> {
        let summary = self
            .iam
            .get_account_summary()
            .send()
            .await
            .map_err(aws_error)?;
        let count = |key: SummaryKeyType| {
            summary
                .summary_map()
                .and_then(|map| map.get(&key))
                .and_then(|value| u64::try_from(*value).ok())
        };
        Ok(count(SummaryKeyType::UsersQuota).map(|limit| Capacity {
            used: Some(count(SummaryKeyType::Users).unwrap_or(0)),
            limit,
        }))
    }

    async fn revoke_credential(
        &self,
        address: &EmailAddress,
        replaced: &Credential,
    ) -> Result<(), ProviderError> {
        ignore_not_found(
            self.iam
                .delete_access_key()
                .user_name(iam_user_name(address))
                .access_key_id(&replaced.smtp_username)
                .send()
                .await,
        )
    }

    async fn domain_verdict(
        &self,
        domain: &DomainName,
    ) -> Result<Option<ProviderVerdict>, ProviderError> {
        self.identity_verdict(domain).await.map(Some)
    }

    async fn set_sending(
        &self,
        address: &EmailAddress,
        _current: &Credential,
        allowed: bool,
    ) -> Result<(), ProviderError> {
        let user = iam_user_name(address);
        if allowed {
            return self.delete_user_policy(&user, STOP_POLICY_NAME).await;
        }
        let deny = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": ["ses:SendRawEmail", "ses:SendEmail"],
                "Resource": "*"
            }]
        });
        self.iam
            .put_user_policy()
            .user_name(&user)
            .policy_name(STOP_POLICY_NAME)
            .policy_document(deny.to_string())
            .send()
            .await
            .map_err(aws_error)?;
        Ok(())
    }
}

/// IAM user names allow `[\w+=,.@-]`, 64 at most: the address itself when
/// it fits, else a prefix and a hash of it, the same every time.
pub fn iam_user_name(address: &EmailAddress) -> String {
    let full = address.to_string();
    if full.len() <= 64 {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hash}", &full[..64 - 13])
}

/// The SES SMTP password of an IAM secret access key, as AWS documents it:
/// HMAC-SHA256 over "11111111", the region, "ses", "aws4_request" and
/// "SendRawEmail" in turn, keyed first with "AWS4" + secret; version byte 4
/// before the signature; base64.
pub fn smtp_password(secret_access_key: &str, region: &str) -> SmtpPassword {
    fn sign(key: &[u8], message: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    let mut signature = sign(format!("AWS4{secret_access_key}").as_bytes(), "11111111");
    for message in [region, "ses", "aws4_request", "SendRawEmail"] {
        signature = sign(&signature, message);
    }
    let mut versioned = vec![0x04];
    versioned.extend(signature);
    SmtpPassword::new(STANDARD.encode(versioned))
}

fn tag(key: &str, value: &str) -> Result<aws_sdk_iam::types::Tag, ProviderError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| rejected(e.to_string()))
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected {
        provider: NAME,
        message,
    }
}

/// SES's verdict on a domain identity: verified when its verification
/// succeeded (`VerificationStatus`, or `VerifiedForSendingStatus` where the
/// status is absent); the Easy DKIM tokens it signs with, each a CNAME
/// `<token>._domainkey.<domain>` to `<token>.dkim.amazonses.com`.
fn verdict_of(domain: &DomainName, identity: &GetEmailIdentityOutput) -> ProviderVerdict {
    let verification = identity
        .verification_status()
        .map_or("NOT_STARTED", VerificationStatus::as_str);
    let verified = match identity.verification_status() {
        Some(status) => *status == VerificationStatus::Success,
        None => identity.verified_for_sending_status(),
    };
    let attributes = identity.dkim_attributes();
    let dkim_status = attributes
        .and_then(|dkim| dkim.status())
        .map_or("NOT_STARTED", DkimStatus::as_str);
    let dkim = attributes
        .map(|dkim| dkim.tokens())
        .unwrap_or_default()
        .iter()
        .map(|token| {
            DkimSelector::cname(
                format!("{token}._domainkey.{domain}"),
                format!("{token}.dkim.amazonses.com"),
            )
        })
        .collect();
    let found = format!("identity {domain}: verification {verification}, DKIM {dkim_status}");
    if verified {
        return ProviderVerdict {
            status: CheckStatus::Ok,
            found,
            message: format!("SES sends for {domain}: its identity is verified"),
            dkim,
        };
    }
    ProviderVerdict {
        status: CheckStatus::Wrong,
        found,
        message: format!(
            "the SES identity {domain} is not verified ({verification}): SES sends nothing from it until it is; publish its DKIM CNAMEs (SES console › Identities › {domain} › Authentication) and SES verifies it within 72 hours"
        ),
        dkim,
    }
}

fn is_not_found<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    matches!(error.code(), Some("NoSuchEntity" | "NotFoundException"))
}

fn ignore_not_found<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Err(error) if !is_not_found(&error) => Err(aws_error(error)),
        _ => Ok(()),
    }
}

/// A refusal (validation, limit, permission) keeps AWS's message and is a
/// 502; throttling and transport failures are a 503.
fn aws_error<E, R>(error: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error.code().unwrap_or("").to_string();
    let message = error.message().unwrap_or("").to_string();
    match error {
        SdkError::ServiceError(_) if !code.contains("Throttl") && code != "ServiceFailure" => {
            rejected(format!("{code}: {message}"))
        }
        SdkError::ServiceError(_) => ProviderError::Unavailable {
            provider: NAME,
            message: format!("{code}: {message}"),
        },
        other => ProviderError::Unavailable {
            provider: NAME,
            message: format!(
                "no answer: {}",
                aws_sdk_iam::error::DisplayErrorContext(&other)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed independently with Python's hmac module,
    /// following the algorithm in the SES developer guide.
    #[test]
    fn smtp_password_matches_the_documented_algorithm() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            smtp_password(secret, "us-east-1").expose(),
            "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
        );
        assert_eq!(
            smtp_password(secret, "eu-west-1").expose(),
            "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"
        );
    }

    #[test]
    fn iam_user_names_fit_the_limit_and_are_stable() {
        let short = EmailAddress::parse("support@example.com").unwrap();
        assert_eq!(iam_user_name(&short), "support@example.com");
        let long = EmailAddress::parse(&format!(
            "{}@{}.example.com",
            "a".repeat(60),
            "b".repeat(40)
        ))
        .unwrap();
        let name = iam_user_name(&long);
        assert_eq!(name.len(), 64);
        assert_eq!(name, iam_user_name(&long));
    }

    fn identity(verification: VerificationStatus, tokens: &[&str]) -> GetEmailIdentityOutput {
        let dkim = aws_sdk_sesv2::types::DkimAttributes::builder()
            .status(DkimStatus::Pending)
            .set_tokens(Some(tokens.iter().map(|token| token.to_string()).collect()))
            .build();
        GetEmailIdentityOutput::builder()
            .verification_status(verification.clone())
            .verified_for_sending_status(verification == VerificationStatus::Success)
            .dkim_attributes(dkim)
            .build()
    }

    #[test]
    fn a_pending_identity_is_not_ready_and_names_its_three_dkim_cnames() {
        let domain = DomainName::parse("example.com").unwrap();
        let pending = verdict_of(
            &domain,
            &identity(VerificationStatus::Pending, &["tok1", "tok2", "tok3"]),
        );
        assert_eq!(pending.status, CheckStatus::Wrong);
        assert!(
            pending.message.contains("is not verified (PENDING)"),
            "{pending:?}"
        );
        assert_eq!(
            pending.found,
            "identity example.com: verification PENDING, DKIM PENDING"
        );
        let records: Vec<String> = pending.dkim.iter().map(DkimSelector::record).collect();
        assert_eq!(
            records,
            [
                "tok1._domainkey.example.com CNAME tok1.dkim.amazonses.com",
                "tok2._domainkey.example.com CNAME tok2.dkim.amazonses.com",
                "tok3._domainkey.example.com CNAME tok3.dkim.amazonses.com",
            ]
        );
        let verified = verdict_of(&domain, &identity(VerificationStatus::Success, &["tok1"]));
        assert_eq!(verified.status, CheckStatus::Ok);
    }
}
