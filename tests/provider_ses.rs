//! The SES adapter against moto_server's SES v2 and IAM: the identity, the
//! IAM user allowed to send only as its address, the SMTP key, its
//! rotation (a second key, then the old one deleted), sending stopped by an
//! explicit deny and restarted, and a removal that leaves nothing.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client as Iam;
use aws_sdk_sesv2::Client as Ses;
use integration_tests::moto;
use integration_tests::provider_fakes::{mark, ses_provider};
use provisioning::domain::{DisplayName, EmailAddress, SmtpAuthentication};
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
    let account = provider(&ses, &iam)
        .provision(
            &address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
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
    let account = provider
        .provision(
            &address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
        .await
        .unwrap();
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
        .verified_for_sending_status();

    let account = provider(&ses, &iam)
        .provision(
            &address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
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
    let account = provider(&ses, &iam)
        .provision(
            &address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
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
    let account = ses_provider
        .provision(
            &address,
            &DisplayName::default_for(address.username()),
            &mark(),
        )
        .await
        .unwrap();
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
