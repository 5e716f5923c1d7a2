//! The SES adapter against moto_server's SES v2 and IAM: the identity, the
//! IAM user allowed to send only as its address, the SMTP key, and a
//! removal that leaves nothing.

use aws_sdk_iam::Client as Iam;
use aws_sdk_sesv2::Client as Ses;
use integration_tests::moto;
use provisioning::domain::{DisplayName, EmailAddress, SmtpAuthentication};
use provisioning::providers::{iam_user_name, MailProvider, SesProvider};
use serde_json::Value;

async fn clients() -> (Ses, Iam) {
    let config = moto::sdk_config().await;
    (Ses::new(&config), Iam::new(&config))
}

fn provider(ses: &Ses, iam: &Iam) -> SesProvider {
    SesProvider::new(
        ses.clone(),
        iam.clone(),
        "eu-west-1",
        "/email-provisioning/",
        None,
    )
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
        .provision(&address, &DisplayName::default_for(address.username()))
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
        .deprovision(&account.provider_ref)
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
        .deprovision(&account.provider_ref)
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
        .provision(&address, &DisplayName::default_for(address.username()))
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
        .deprovision(&account.provider_ref)
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
    iam.create_user()
        .user_name(&user)
        .path("/email-provisioning/")
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
        .provision(&address, &DisplayName::default_for(address.username()))
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
        .deprovision(&account.provider_ref)
        .await
        .unwrap();
}

/// IAM returns policy documents URL-encoded (RFC 3986).
fn urlencoding_decode(raw: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("d={}", raw.replace('+', "%2B")))
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map(|(_, value)| value)
        .unwrap_or_else(|| raw.to_string())
}
