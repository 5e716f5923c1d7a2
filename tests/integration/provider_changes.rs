//! New credentials and sending stopped and restarted, through the HTTP
//! provider adapters, against stateful fakes of SendGrid, Microsoft Graph
//! (+ Entra ID's token endpoint) and the Google Admin SDK. Each fake keeps
//! what the provider keeps and can say whether a credential would send mail
//! now, so "the old credential no longer works" is a check that can fail.

use integration_tests::provider_fakes::google::{Google, GOOGLE_TOKEN};
use integration_tests::provider_fakes::graph::{Graph, CLIENT_SECRET, GRAPH_TOKEN, TENANT};
use integration_tests::provider_fakes::sendgrid::{sendgrid_at, SendGrid};
use integration_tests::provider_fakes::{http, mark, support};
use provisioning::domain::SmtpPassword;
use provisioning::providers::{Credential, MailProvider, ProviderError, ProvisionedAccount};
use serde_json::{json, Value};
use wiremock::MockServer;

/// The name the adapter gives the keys of `mark()`: the address and the mark's token.
const KEY_NAME: &str = "email-provisioning support@example.com test-create";

/// The credential the table keeps for what `provision` made.
fn credential(account: &ProvisionedAccount) -> Credential {
    Credential {
        provider_ref: account.provider_ref.clone(),
        smtp_username: account.smtp.username.clone(),
    }
}

fn unknown(smtp_username: &str) -> Credential {
    Credential {
        provider_ref: "no-such-id".into(),
        smtp_username: smtp_username.into(),
    }
}

/// The error, shown every way it can be, holds none of `secrets`.
fn assert_nothing_leaks(error: &ProviderError, secrets: &[&str]) {
    let shown = format!("{error} {error:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{shown} shows a secret");
    }
}

// SendGrid ------------------------------------------------------------------

/// What SendGrid answers a message sent with `key`.
async fn send_with(server: &MockServer, key: &SmtpPassword) -> u16 {
    let message = json!({
        "personalizations": [{ "to": [{ "email": "someone@example.org" }] }],
        "from": { "email": "support@example.com" },
        "subject": "hello",
        "content": [{ "type": "text/plain", "value": "hello" }],
    });
    http()
        .client()
        .post(format!("{}/v3/mail/send", server.uri()))
        .bearer_auth(key.expose())
        .json(&message)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sendgrid_keeps_the_old_key_working_until_it_is_revoked() {
    let (server, _fake, provider) = SendGrid::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let old = credential(&account);
    assert_eq!(send_with(&server, &account.password).await, 202);

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_ne!(issued.credential.provider_ref, old.provider_ref);
    assert_eq!(issued.credential.smtp_username, "apikey");
    assert_eq!(
        send_with(&server, &account.password).await,
        202,
        "the old key works until it is revoked"
    );
    assert_eq!(send_with(&server, &issued.password).await, 202);

    provider.revoke_credential(&address, &old).await.unwrap();
    assert_eq!(send_with(&server, &account.password).await, 401);
    assert_eq!(send_with(&server, &issued.password).await, 202);
    provider.revoke_credential(&address, &old).await.unwrap();
}

#[tokio::test]
async fn sendgrid_stops_and_restarts_a_key_without_changing_it() {
    let (server, fake, provider) = SendGrid::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let current = credential(&account);
    // A spare of a rotation that died must stop too.
    let (spare_id, spare) = fake.add_key_with_secret(KEY_NAME);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 403);
    assert_eq!(send_with(&server, &spare).await, 403);
    let spare_credential = Credential {
        provider_ref: spare_id,
        smtp_username: "apikey".into(),
    };
    provider
        .revoke_credential(&address, &spare_credential)
        .await
        .unwrap();
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 202);
    // PUT replaces the name too: the key must still be found by it.
    assert_eq!(fake.names(), [KEY_NAME]);
    assert_eq!(fake.ids(), [current.provider_ref]);
}

#[tokio::test]
async fn sendgrid_removes_the_leftover_of_a_rotation_that_died_first() {
    let (server, fake, provider) = SendGrid::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let current = credential(&account);
    let (_, leftover) = fake.add_key_with_secret(KEY_NAME);
    let other = fake.add_key("email-provisioning sales@example.com");

    let issued = provider
        .issue_credential(&address, &current, &mark())
        .await
        .unwrap();
    let mut expected = vec![
        current.provider_ref,
        other,
        issued.credential.provider_ref.clone(),
    ];
    expected.sort();
    assert_eq!(fake.ids(), expected);
    assert_eq!(send_with(&server, &leftover).await, 401);
    assert_eq!(send_with(&server, &account.password).await, 202);
    assert_eq!(send_with(&server, &issued.password).await, 202);
}

#[tokio::test]
async fn sendgrid_finds_keys_by_name_and_passes_errors_on_without_a_key() {
    let (server, fake, provider) = SendGrid::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();

    // Keys are found by the address's name: a stale id in the table does
    // not matter, and another address's key is never touched.
    let (other_id, other) = fake.add_key_with_secret("email-provisioning sales@example.com");
    provider
        .set_sending(&address, &unknown("apikey"), false)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 403);
    assert_eq!(send_with(&server, &other).await, 202);
    provider
        .set_sending(&address, &unknown("apikey"), true)
        .await
        .unwrap();
    assert_eq!(send_with(&server, &account.password).await, 202);

    let refused_key = "SG.revoked-admin-key";
    let misconfigured = sendgrid_at(&server.uri(), refused_key);
    let error = misconfigured
        .issue_credential(&address, &credential(&account), &mark())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("authorization required"));
    assert_nothing_leaks(&error, &[refused_key, account.password.expose()]);
    let mut left = vec![account.provider_ref, other_id];
    left.sort();
    assert_eq!(fake.ids(), left);
}

// Microsoft Graph -------------------------------------------------------------

/// Signs in as a mail client would (password grant); Entra ID's refusal, if any.
async fn sign_in(
    server: &MockServer,
    username: &str,
    password: &SmtpPassword,
) -> Result<(), String> {
    let response = http()
        .client()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.uri()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "mail-client"),
            ("scope", "https://outlook.office.com/SMTP.Send"),
            ("username", username),
            ("password", password.expose()),
        ])
        .send()
        .await
        .unwrap();
    if response.status().is_success() {
        return Ok(());
    }
    let refusal: Value = response.json().await.unwrap();
    Err(refusal["error_description"]
        .as_str()
        .unwrap_or_default()
        .into())
}

#[tokio::test]
async fn microsoft365_a_new_password_replaces_the_old_one_at_once() {
    let (server, _fake, provider) = Graph::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let old = credential(&account);
    sign_in(&server, upn, &account.password).await.unwrap();

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_eq!(issued.credential, old, "the same user, the same login");
    let refusal = sign_in(&server, upn, &account.password).await.unwrap_err();
    assert!(refusal.starts_with("AADSTS50126"), "{refusal}");
    sign_in(&server, upn, &issued.password).await.unwrap();

    provider.revoke_credential(&address, &old).await.unwrap();
    sign_in(&server, upn, &issued.password).await.unwrap();
}

#[tokio::test]
async fn microsoft365_a_disabled_account_cannot_sign_in_until_enabled() {
    let (server, _fake, provider) = Graph::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let current = credential(&account);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    let refusal = sign_in(&server, upn, &account.password).await.unwrap_err();
    assert!(refusal.starts_with("AADSTS50057"), "{refusal}");
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    sign_in(&server, upn, &account.password).await.unwrap();
}

#[tokio::test]
async fn microsoft365_errors_are_passed_on_without_a_secret() {
    let (server, _fake, provider) = Graph::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let upn = account.smtp.username.as_str();
    let secrets = [CLIENT_SECRET, GRAPH_TOKEN, account.password.expose()];

    let error = provider
        .set_sending(&address, &unknown(upn), false)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(error.to_string().contains("(HTTP 404)"), "{error}");
    assert_nothing_leaks(&error, &secrets);

    let error = provider
        .issue_credential(&address, &unknown(upn), &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert_nothing_leaks(&error, &secrets);
    sign_in(&server, upn, &account.password).await.unwrap();
}

// Google Admin SDK ------------------------------------------------------------

#[tokio::test]
async fn google_a_new_password_replaces_the_old_one_at_once() {
    let (_server, fake, provider) = Google::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let old = credential(&account);
    assert!(fake.signs_in(email, &account.password));

    let issued = provider
        .issue_credential(&address, &old, &mark())
        .await
        .unwrap();
    assert_ne!(issued.password, account.password);
    assert_eq!(issued.credential, old, "the same user, the same login");
    assert!(!fake.signs_in(email, &account.password));
    assert!(fake.signs_in(email, &issued.password));

    provider.revoke_credential(&address, &old).await.unwrap();
    assert!(fake.signs_in(email, &issued.password));
}

#[tokio::test]
async fn google_a_suspended_user_cannot_sign_in_until_restored() {
    let (_server, fake, provider) = Google::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let current = credential(&account);

    provider
        .set_sending(&address, &current, false)
        .await
        .unwrap();
    assert!(!fake.signs_in(email, &account.password));
    provider
        .set_sending(&address, &current, true)
        .await
        .unwrap();
    assert!(fake.signs_in(email, &account.password));
}

#[tokio::test]
async fn google_errors_are_passed_on_without_a_secret() {
    let (_server, fake, provider) = Google::start().await;
    let (address, name) = support();
    let account = provider.provision(&address, &name, &mark()).await.unwrap();
    let email = account.smtp.username.as_str();
    let secrets = [GOOGLE_TOKEN, "PRIVATE KEY", account.password.expose()];

    let error = provider
        .set_sending(&address, &unknown(email), false)
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Resource Not Found: userKey (HTTP 404)"),
        "{error}"
    );
    assert_nothing_leaks(&error, &secrets);

    let error = provider
        .issue_credential(&address, &unknown(email), &mark())
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
    assert_nothing_leaks(&error, &secrets);
    assert!(fake.signs_in(email, &account.password));
}
