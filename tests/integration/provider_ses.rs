//! The SES adapter against moto_server's SES v2 and IAM: the identity, the
//! IAM user allowed to send only as its address, the SMTP key, its
//! rotation (a second key, then the old one deleted), sending stopped by an
//! explicit deny and restarted, and a removal that leaves nothing.

use aws_sdk_iam::types::{SummaryKeyType, Tag};
use aws_sdk_iam::Client as Iam;
use aws_sdk_sesv2::Client as Ses;
use integration_tests::moto;
use integration_tests::provider_fakes::{mark, provision_default, ses_provider};
use provisioning::domain::{EmailAddress, SmtpAuthentication};
use provisioning::providers::{
    iam_user_name, Credential, MailProvider, ProvisionedAccount, SesProvider,
};
use serde_json::Value;

async fn clients() -> (Ses, Iam) {
    let config = moto::sdk_config().await;
    (Ses::new(&config), Iam::new(&config))
}

fn provider(ses: &Ses, iam: &Iam) -> SesProvider {
    ses_provider(ses, iam, None)
}

/// A domain no other test uses, so tests share the emulator safely.
fn address() -> EmailAddress {
    EmailAddress::parse(&format!(
        "support@{}.example.com",
        moto::unique("d").replace('_', "-")
    ))
    .unwrap()
}

#[tokio::test]
async fn provisions_an_identity_and_an_iam_user_that_may_only_send_as_the_address() {
    let (ses, iam) = clients().await;
    let address = address();
    let account = provision_default(&provider(&ses, &iam), &address)
        .await
        .unwrap();

    assert_eq!(account.smtp.server, "email-smtp.eu-west-1.amazonaws.com");
    assert_eq!(account.smtp.port, 587);
    assert_eq!(account.smtp.authentication, SmtpAuthentication::Password);
    let password = account.password.expose();
    assert_eq!(
        password.len(),
        44,
        "base64 of a version byte and a SHA-256 MAC"
    );
    assert!(password.starts_with('B'), "version byte 0x04");

    let identity = ses
        .get_email_identity()
        .email_identity(address.to_string())
        .send()
        .await;
    assert!(
        identity.is_ok(),
        "the address identity exists: {identity:?}"
    );

    let user = iam_user_name(&address);
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let key_ids: Vec<&str> = keys
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id())
        .collect();
    assert_eq!(key_ids, [account.smtp.username.as_str()]);
    let policy = iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("send-as-address")
        .send()
        .await
        .unwrap();
    let document: Value =
        serde_json::from_str(&urlencoding_decode(policy.policy_document())).unwrap();
    let statement = &document["Statement"][0];
    assert_eq!(
        statement["Action"],
        serde_json::json!(["ses:SendRawEmail", "ses:SendEmail"])
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["ses:FromAddress"],
        address.to_string()
    );
    let fetched = iam.get_user().user_name(&user).send().await.unwrap();
    assert_eq!(
        fetched.user().map(|u| u.path()),
        Some("/email-provisioning/")
    );

    provider(&ses, &iam)
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(
        iam.get_user().user_name(&user).send().await.is_err(),
        "the user is gone"
    );
    assert!(
        ses.get_email_identity()
            .email_identity(address.to_string())
            .send()
            .await
            .is_err(),
        "the identity is gone"
    );
    provider(&ses, &iam)
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

/// Send statistics: every address identity goes on the configuration set
/// whose event destination feeds the `events` function.
#[tokio::test]
async fn the_address_identity_is_put_on_the_statistics_configuration_set() {
    let (ses, iam) = clients().await;
    let address = address();
    let set = moto::unique("stats").replace('_', "-");
    ses.create_configuration_set()
        .configuration_set_name(&set)
        .send()
        .await
        .unwrap();
    let provider = ses_provider(&ses, &iam, Some(set.clone()));
    let account = provision_default(&provider, &address).await.unwrap();
    let identity = ses
        .get_email_identity()
        .email_identity(address.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(identity.configuration_set_name(), Some(set.as_str()));
    provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_verified_domain_identity_is_reused_and_never_removed() {
    let (ses, iam) = clients().await;
    let address = address();
    ses.create_email_identity()
        .email_identity(address.domain().as_str())
        .send()
        .await
        .unwrap();
    let verified = ses
        .get_email_identity()
        .email_identity(address.domain().as_str())
        .send()
        .await
        .unwrap()
        .verification_status()
        == Some(&aws_sdk_sesv2::types::VerificationStatus::Success);

    let account = provision_default(&provider(&ses, &iam), &address)
        .await
        .unwrap();
    let own_identity = ses
        .get_email_identity()
        .email_identity(address.to_string())
        .send()
        .await;
    assert_eq!(
        own_identity.is_ok(),
        !verified,
        "an address identity only when the domain is not verified"
    );

    provider(&ses, &iam)
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(ses
        .get_email_identity()
        .email_identity(address.domain().as_str())
        .send()
        .await
        .is_ok());
}

#[tokio::test]
async fn a_leftover_user_of_a_crashed_attempt_is_reused_within_the_two_key_limit() {
    let (ses, iam) = clients().await;
    let address = address();
    let user = iam_user_name(&address);
    // What this create made before its answer was lost: the user, with its mark.
    iam.create_user()
        .user_name(&user)
        .path("/email-provisioning/")
        .tags(
            Tag::builder()
                .key("email-provisioning:mark")
                .value(mark().label())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        iam.create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap();
    }
    let account = provision_default(&provider(&ses, &iam), &address)
        .await
        .unwrap();
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);
    assert_eq!(
        keys.access_key_metadata()[0].access_key_id(),
        Some(account.smtp.username.as_str())
    );
    provider(&ses, &iam)
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

/// An address provisioned on the emulator, with what the tests look at.
struct Provisioned {
    iam: Iam,
    address: EmailAddress,
    ses_provider: SesProvider,
    account: ProvisionedAccount,
    user: String,
    credential: Credential,
}

async fn provisioned() -> Provisioned {
    let (ses, iam) = clients().await;
    let address = address();
    let ses_provider = provider(&ses, &iam);
    let account = provision_default(&ses_provider, &address).await.unwrap();
    let credential = Credential {
        provider_ref: account.provider_ref.clone(),
        smtp_username: account.smtp.username.clone(),
    };
    Provisioned {
        user: iam_user_name(&address),
        iam,
        address,
        ses_provider,
        account,
        credential,
    }
}

async fn access_key_ids(iam: &Iam, user: &str) -> Vec<String> {
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    keys.access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_rotation_makes_a_second_key_and_the_old_one_is_deleted_when_revoked() {
    let Provisioned {
        iam,
        address,
        ses_provider,
        account,
        user,
        credential: old,
    } = provisioned().await;
    // A key left by a rotation that died: IAM allows two, so it goes first.
    let leftover = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let leftover_id = leftover.access_key().unwrap().access_key_id().to_string();

    let issued = ses_provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.credential.smtp_username, old.smtp_username);
    assert_ne!(issued.password, account.password);
    assert_eq!(issued.credential.provider_ref, old.provider_ref);
    let mut both = vec![
        old.smtp_username.clone(),
        issued.credential.smtp_username.clone(),
    ];
    both.sort();
    let mut present = access_key_ids(&iam, &user).await;
    present.sort();
    assert_eq!(
        present, both,
        "the leftover {leftover_id} is gone, the old key still works"
    );

    ses_provider
        .revoke_credential(&address, &old)
        .await
        .unwrap();
    assert_eq!(
        access_key_ids(&iam, &user).await,
        vec![issued.credential.smtp_username.clone()]
    );
    let last_used = |id: String| iam.get_access_key_last_used().access_key_id(id).send();
    assert!(
        last_used(old.smtp_username.clone()).await.is_err(),
        "IAM no longer knows the old key"
    );
    assert!(last_used(issued.credential.smtp_username.clone())
        .await
        .is_ok());
    ses_provider
        .revoke_credential(&address, &old)
        .await
        .unwrap();
    ses_provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
}

#[tokio::test]
async fn stopping_puts_an_explicit_deny_on_the_user_and_restarting_removes_it() {
    let Provisioned {
        iam,
        address,
        ses_provider,
        account,
        user,
        credential: current,
    } = provisioned().await;

    ses_provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    let deny = iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("stopped-sending")
        .send()
        .await
        .unwrap();
    let document: Value =
        serde_json::from_str(&urlencoding_decode(deny.policy_document())).unwrap();
    assert_eq!(document["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        document["Statement"][0]["Action"],
        serde_json::json!(["ses:SendRawEmail", "ses:SendEmail"])
    );
    assert_eq!(
        access_key_ids(&iam, &user).await,
        vec![current.smtp_username.clone()],
        "the same key: the user keeps their password"
    );

    ses_provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    assert!(iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("stopped-sending")
        .send()
        .await
        .is_err());
    ses_provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();

    // A stopped account's deny goes with it.
    ses_provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    ses_provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(iam.get_user().user_name(&user).send().await.is_err());
}

/// IAM returns policy documents URL-encoded (RFC 3986).
fn urlencoding_decode(raw: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("d={}", raw.replace('+', "%2B")))
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map(|(_, value)| value)
        .unwrap_or_else(|| raw.to_string())
}

// The marks, the boundary, and what is not the service's ----------------------

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use provisioning::providers::{Mark, ProviderError, SesSettings};

/// The parameters of every IAM `CreateUser` request a client puts on the
/// wire. moto 5.2.1 drops a user's `PermissionsBoundary` (its `GetUser`
/// never shows one), so what the adapter asked IAM for is read here.
#[derive(Debug, Clone, Default)]
struct CreateUserRequests(Arc<Mutex<Vec<QueryParams>>>);

/// A query-protocol request's parameters, in order.
type QueryParams = Vec<(String, String)>;

impl CreateUserRequests {
    fn take(&self) -> Vec<QueryParams> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for CreateUserRequests {
    fn name(&self) -> &'static str {
        "CreateUserRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // IAM's query protocol: a form body naming the action.
        let params: QueryParams = context
            .request()
            .body()
            .bytes()
            .and_then(|body| serde_urlencoded::from_bytes(body).ok())
            .unwrap_or_default();
        if params
            .iter()
            .any(|(k, v)| k == "Action" && v == "CreateUser")
        {
            self.0.lock().unwrap().push(params);
        }
        Ok(())
    }
}

/// SES answers `CreateEmailIdentity` for an identity that exists with
/// `AlreadyExistsException`; moto 5.2.1 overwrites it and answers 200.
/// A client with this interceptor gets SES's answer for the identities it
/// names (moto still receives the request: the identity stays, its
/// configuration set may be reset, which these tests do not look at).
#[derive(Debug, Clone)]
struct ExistingIdentities(Vec<String>);

#[derive(Debug)]
struct AlreadyExists;

impl Storable for AlreadyExists {
    type Storer = StoreReplace<Self>;
}

impl Intercept for ExistingIdentities {
    fn name(&self) -> &'static str {
        "ExistingIdentities"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        if request.method() != "POST" || !request.uri().ends_with("/v2/email/identities") {
            return Ok(());
        }
        let body: Value = request
            .body()
            .bytes()
            .and_then(|body| serde_json::from_slice(body).ok())
            .unwrap_or_default();
        let identity = body["EmailIdentity"].as_str().unwrap_or_default();
        if self.0.iter().any(|existing| existing == identity) {
            cfg.interceptor_state().store_put(AlreadyExists);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<AlreadyExists>().is_some() {
            let mut refusal = HttpResponse::new(
                StatusCode::try_from(400)?,
                SdkBody::from(r#"{"message":"Email identity already exists."}"#),
            );
            refusal
                .headers_mut()
                .insert("x-amzn-errortype", "AlreadyExistsException");
            refusal
                .headers_mut()
                .insert("content-type", "application/json");
            *context.response_mut() = refusal;
        }
        Ok(())
    }
}

/// The user's tags, as `(key, value)`, sorted.
async fn user_tags(iam: &Iam, user: &str) -> Vec<(String, String)> {
    let listed = iam.list_user_tags().user_name(user).send().await.unwrap();
    let mut tags: Vec<(String, String)> = listed
        .tags()
        .iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect();
    tags.sort();
    tags
}

async fn identity_exists(ses: &Ses, identity: &str) -> bool {
    ses.get_email_identity()
        .email_identity(identity)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn users_are_made_under_the_permissions_boundary_and_carry_the_mark() {
    let config = moto::sdk_config().await;
    let ses = Ses::new(&config);
    let create_users = CreateUserRequests::default();
    let iam = Iam::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .interceptor(create_users.clone())
            .build(),
    );
    let send_only = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["ses:SendRawEmail", "ses:SendEmail"],
            "Resource": "*"
        }]
    });
    let boundary = iam
        .create_policy()
        .policy_name(moto::unique("send-only-boundary"))
        .policy_document(send_only.to_string())
        .send()
        .await
        .unwrap()
        .policy()
        .and_then(|policy| policy.arn())
        .unwrap()
        .to_string();
    let provider = SesProvider::new(
        ses.clone(),
        iam.clone(),
        SesSettings {
            region: "eu-west-1".into(),
            iam_path: "/email-provisioning/".into(),
            configuration_set: None,
            permissions_boundary: Some(boundary.clone()),
        },
    );
    let address = address();
    let user = iam_user_name(&address);

    let account = provision_default(&provider, &address).await.unwrap();

    let requests = create_users.take();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let param = |name: &str| {
        requests[0]
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(param("UserName"), Some(user.clone()));
    assert_eq!(param("Path").as_deref(), Some("/email-provisioning/"));
    assert_eq!(
        param("PermissionsBoundary"),
        Some(boundary.clone()),
        "the user is made under the boundary, in the same request"
    );
    let fetched = iam.get_user().user_name(&user).send().await.unwrap();
    // moto 5.2.1 keeps no boundary on a user; an IAM that does must show this one.
    if let Some(kept) = fetched.user().and_then(|u| u.permissions_boundary()) {
        assert_eq!(kept.permissions_boundary_arn(), Some(boundary.as_str()));
    }
    let tags = user_tags(&iam, &user).await;
    assert!(
        tags.contains(&("email-provisioning:mark".into(), mark().label())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("email-provisioning:address".into(), address.to_string())),
        "{tags:?}"
    );

    provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(iam.get_user().user_name(&user).send().await.is_err());
}

#[tokio::test]
async fn an_iam_user_someone_else_made_at_the_address_is_refused_and_left_alone() {
    let (ses, iam) = clients().await;
    let address = address();
    let user = iam_user_name(&address);
    // Same name, same path, no tags: not this service's.
    iam.create_user()
        .user_name(&user)
        .path("/email-provisioning/")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    let provider = provider(&ses, &iam);

    let error = provision_default(&provider, &address).await.unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(error.to_string().contains("already exists"), "{error}");

    provider
        .deprovision(&address, &address.to_string())
        .await
        .unwrap();
    provider
        .deprovision_marked(&address, &mark())
        .await
        .unwrap();

    assert!(iam.get_user().user_name(&user).send().await.is_ok());
    assert_eq!(access_key_ids(&iam, &user).await, [key]);
    assert_eq!(user_tags(&iam, &user).await, Vec::new());
    assert!(
        iam.get_user_policy()
            .user_name(&user)
            .policy_name("send-as-address")
            .send()
            .await
            .is_err(),
        "no policy put on it"
    );
    assert!(
        !identity_exists(&ses, &address.to_string()).await,
        "nothing made for the address"
    );
}

#[tokio::test]
async fn another_creates_user_is_left_by_this_creates_clean_up() {
    let Provisioned {
        iam,
        address,
        ses_provider,
        user,
        credential,
        ..
    } = provisioned().await;

    ses_provider
        .deprovision_marked(&address, &Mark::new("other-create"))
        .await
        .unwrap();
    assert_eq!(
        access_key_ids(&iam, &user).await,
        [credential.smtp_username]
    );

    ses_provider
        .deprovision_marked(&address, &mark())
        .await
        .unwrap();
    assert!(iam.get_user().user_name(&user).send().await.is_err());
}

#[tokio::test]
async fn an_address_identity_that_existed_before_is_never_removed() {
    let config = moto::sdk_config().await;
    let (plain_ses, iam) = (Ses::new(&config), Iam::new(&config));
    let address = address();
    plain_ses
        .create_email_identity()
        .email_identity(address.to_string())
        .send()
        .await
        .unwrap();
    let ses = Ses::from_conf(
        aws_sdk_sesv2::config::Builder::from(&config)
            .interceptor(ExistingIdentities(vec![address.to_string()]))
            .build(),
    );
    let provider = ses_provider(&ses, &iam, None);
    let user = iam_user_name(&address);

    let account = provision_default(&provider, &address).await.unwrap();
    let tags = user_tags(&iam, &user).await;
    assert!(
        !tags
            .iter()
            .any(|(key, _)| key == "email-provisioning:identity"),
        "the user does not claim the identity: {tags:?}"
    );

    provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(
        iam.get_user().user_name(&user).send().await.is_err(),
        "the service's user is gone"
    );
    assert!(
        identity_exists(&plain_ses, &address.to_string()).await,
        "the identity someone else made stays"
    );
    plain_ses
        .delete_email_identity()
        .email_identity(address.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_address_identity_the_service_made_goes_with_the_account() {
    let Provisioned {
        iam,
        address,
        ses_provider,
        account,
        user,
        ..
    } = provisioned().await;
    let (ses, _) = clients().await;
    assert!(identity_exists(&ses, &address.to_string()).await);
    assert!(
        user_tags(&iam, &user)
            .await
            .contains(&("email-provisioning:identity".into(), "made".into())),
        "the user says the service made the identity"
    );

    ses_provider
        .deprovision(&address, &account.provider_ref)
        .await
        .unwrap();
    assert!(!identity_exists(&ses, &address.to_string()).await);
    assert!(iam.get_user().user_name(&user).send().await.is_err());
}

#[tokio::test]
async fn counts_the_accounts_iam_users_against_its_quota() {
    let (ses, iam) = clients().await;
    let provider = provider(&ses, &iam);
    let address = address();
    provision_default(&provider, &address).await.unwrap();
    let capacity = provider
        .capacity()
        .await
        .unwrap()
        .expect("IAM has a user quota");
    let summary = iam.get_account_summary().send().await.unwrap();
    let quota = summary.summary_map().unwrap()[&SummaryKeyType::UsersQuota];
    assert_eq!(capacity.limit, u64::try_from(quota).unwrap());
    // Other tests make users on the same emulator meanwhile: at least ours.
    assert!(capacity.used.is_some_and(|used| used >= 1), "{capacity:?}");
}
