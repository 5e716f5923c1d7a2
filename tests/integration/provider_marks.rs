//! What the HTTP adapters make carries the service's mark, and a crash's
//! clean-up removes only what carries it with the dead create's token:
//! never an employee's mailbox at the address, never a user found through
//! an alias, never a key someone else named. Removing an account removes
//! every credential of its address; a create whose answer was lost is
//! looked up by its mark before it is tried again; every try fits the
//! invocation's time. Stateful fakes of SendGrid, Microsoft Graph (+ its
//! token endpoint) and the Google Admin SDK keep what the provider keeps,
//! so each test checks what is left, not only what was asked.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::provider_fakes::google::{
    google_mark, token_request, Google, GOOGLE_READ_SCOPES, GOOGLE_READ_TOKEN, GOOGLE_TOKEN,
};
use integration_tests::provider_fakes::graph::{Graph, GraphUser};
use integration_tests::provider_fakes::sendgrid::{SendGrid, ADMIN_KEY};
use integration_tests::provider_fakes::{mark, settings, sorted, support, token_response};
use provisioning::deadline;
use provisioning::domain::EmailAddress;
use provisioning::providers::http::{ProviderHttp, RetryPolicy};
use provisioning::providers::{
    CompanyDirectory, Credential, MailProvider, Mark, ProviderError, SendGridProvider,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What each directory test sets up to be held: a mailbox, its alias, a
/// group, its alias; and an address nobody holds.
const HELD: [(&str, bool); 5] = [
    ("jane@example.com", true),
    ("sales@example.com", true),
    ("team@example.com", true),
    ("help@example.com", true),
    ("nobody@example.com", false),
];

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).unwrap()
}

// SendGrid ------------------------------------------------------------------

#[tokio::test]
async fn sendgrid_clean_up_removes_only_the_keys_of_the_dead_creates_token() {
    let (_server, fake, provider) = SendGrid::start().await;
    let (support, _) = support();
    let ours = [
        fake.add_key("email-provisioning support@example.com test-create"),
        // A retry of the same create may have made a second one.
        fake.add_key("email-provisioning support@example.com test-create"),
    ];
    let others = [
        fake.add_key("email-provisioning support@example.com other-create"),
        // A longer token that starts with ours is another create's.
        fake.add_key("email-provisioning support@example.com test-create-2"),
        // Named before keys carried a token: not this create's either.
        fake.add_key("email-provisioning support@example.com"),
        fake.add_key("email-provisioning sales@example.com test-create"),
        fake.add_key("email-provisioning support@example.com.attacker.example test-create"),
        fake.add_key("CI deploy key"),
        fake.add_key("support@example.com test-create"),
    ];

    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();

    assert_eq!(fake.ids(), sorted(others.to_vec()));
    for id in &ours {
        assert_eq!(
            fake.count(&format!("DELETE /v3/api_keys/{id}")),
            1,
            "{id} deleted once"
        );
    }
    assert_eq!(
        fake.log()
            .iter()
            .filter(|line| line.starts_with("DELETE"))
            .count(),
        ours.len(),
        "no other key was asked to go"
    );
    // Nothing of that token left: a second clean-up has nothing to do.
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.ids(), sorted(others.to_vec()));
}

#[tokio::test]
async fn sendgrid_removing_an_account_removes_the_spare_of_a_rotation_whose_revoke_failed() {
    let (_server, fake, provider) = SendGrid::start().await;
    let (support, name) = support();
    let other_address = fake.add_key("email-provisioning sales@example.com other-create");
    let someone_elses = fake.add_key("CI deploy key");
    let account = provider.provision(&support, &name, &mark()).await.unwrap();
    let current = Credential {
        provider_ref: account.provider_ref.clone(),
        smtp_username: account.smtp.username.clone(),
    };
    // The rotation made its key, then died before revoking the old one.
    let issued = provider
        .issue_credential(&support, &current, &Mark::new("rotation-1"))
        .await
        .unwrap();
    // And a key named before keys carried a token.
    let legacy = fake.add_key("email-provisioning support@example.com");
    assert_eq!(
        fake.ids_for("support@example.com"),
        sorted(vec![
            account.provider_ref.clone(),
            issued.credential.provider_ref.clone(),
            legacy
        ]),
        "two keys of the address's own, one from before"
    );
    assert!(fake
        .names()
        .contains(&"email-provisioning support@example.com rotation-1".to_string()));

    // The table knows the new key only.
    provider
        .deprovision(&support, &issued.credential.provider_ref)
        .await
        .unwrap();

    assert_eq!(fake.ids_for("support@example.com"), Vec::<String>::new());
    assert_eq!(fake.ids(), sorted(vec![other_address, someone_elses]));
}

#[tokio::test]
async fn sendgrid_a_key_whose_create_answer_was_lost_is_deleted_and_made_again() {
    let (_server, fake, provider) = SendGrid::start().await;
    let (support, name) = support();
    let someone_elses = fake.add_key("CI deploy key");
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    let first = "key-id-2";
    assert_eq!(
        fake.log(),
        [
            "GET /v3/whitelabel/domains",
            "POST /v3/api_keys",
            // The answer did not come: look for the key of this mark first.
            "GET /v3/api_keys",
            // Its secret was only in the lost answer: of no use, so it goes.
            &format!("DELETE /v3/api_keys/{first}"),
            "POST /v3/api_keys",
        ]
    );
    assert_eq!(fake.count("POST /v3/api_keys"), 2);
    assert!(fake.key(first).is_none(), "the first key is gone");
    let left = fake.ids_for("support@example.com");
    assert_eq!(left, [account.provider_ref.as_str()], "exactly one key");
    let (secret, scopes) = fake.key(&account.provider_ref).unwrap();
    assert_eq!(
        account.password.expose(),
        secret,
        "the secret handed back is the remaining key's"
    );
    assert_eq!(scopes, ["mail.send"]);
    assert_eq!(
        fake.names(),
        sorted(vec![
            "CI deploy key".into(),
            "email-provisioning support@example.com test-create".into()
        ])
    );
    assert!(fake.key(&someone_elses).is_some());
}

// Microsoft Graph -------------------------------------------------------------

#[tokio::test]
async fn microsoft365_an_employees_mailbox_at_the_address_is_refused_and_never_removed() {
    for employee_type in [Some("Employee"), None] {
        let (_server, fake, provider) = Graph::start().await;
        let (support, name) = support();
        let employee = fake.add_user(GraphUser::new("support@example.com", employee_type));

        let error = provider
            .provision(&support, &name, &mark())
            .await
            .unwrap_err();
        assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("already exists"), "{message}");
        assert!(
            message.contains("this service did not make it"),
            "{message}"
        );
        assert_eq!(fake.posts().len(), 1, "one create, not repeated");

        provider
            .deprovision_marked(&support, &mark())
            .await
            .unwrap();
        assert_eq!(fake.deleted(), Vec::<String>::new(), "no DELETE at all");
        let users = fake.users();
        assert_eq!(users.len(), 1);
        assert_eq!(users[&employee].upn, "support@example.com");
        assert_eq!(users[&employee].employee_type.as_deref(), employee_type);
    }
}

#[tokio::test]
async fn microsoft365_clean_up_deletes_a_user_by_id_only_with_its_own_token() {
    let (_server, fake, provider) = Graph::start().await;
    let (support, _) = support();
    let other_mark = Mark::new("other-create");
    let user = fake.add_user(GraphUser::new(
        "support@example.com",
        Some(&other_mark.label()),
    ));

    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert!(
        fake.users().contains_key(&user),
        "another create's user stays"
    );

    provider
        .deprovision_marked(&support, &other_mark)
        .await
        .unwrap();
    assert_eq!(fake.deleted(), [user], "deleted by its id, not its address");
    assert!(fake.users().is_empty());
}

#[tokio::test]
async fn microsoft365_a_user_whose_create_answer_was_lost_is_found_by_its_mark() {
    let (_server, fake, provider) = Graph::start().await;
    let (support, name) = support();
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "the create is not repeated blindly");
    let users = fake.users();
    assert_eq!(users.len(), 1);
    let (id, user) = users.iter().next().unwrap();
    assert_eq!(account.provider_ref, *id);
    assert_eq!(user.employee_type, Some(mark().label()));
    assert_eq!(
        Some(account.password.expose()),
        posts[0]
            .pointer("/passwordProfile/password")
            .and_then(Value::as_str),
        "the password handed back is the one the user was made with"
    );
    assert_eq!(user.password.as_deref(), Some(account.password.expose()));
}

#[tokio::test]
async fn microsoft365_already_exists_with_this_creates_mark_is_success() {
    let (_server, fake, provider) = Graph::start().await;
    let (support, name) = support();
    let ours = fake.add_user(GraphUser::new("support@example.com", Some(&mark().label())));

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    assert_eq!(account.provider_ref, ours);
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.users().len(), 1);
    assert_eq!(fake.deleted(), Vec::<String>::new());
}

#[tokio::test]
async fn microsoft365_the_directory_holds_mailboxes_aliases_and_groups() {
    let (_server, fake, provider) = Graph::start().await;
    let mut jane = GraphUser::new("jane@example.com", Some("Employee"));
    jane.proxy_addresses.push("smtp:sales@example.com".into());
    fake.add_user(jane);
    fake.add_group(
        "team@example.com",
        &["SMTP:team@example.com", "smtp:help@example.com"],
    );

    for (raw, held) in HELD {
        let before = fake.queries().len();
        assert_eq!(provider.holds(&address(raw)).await.unwrap(), held, "{raw}");
        let queries = fake.queries()[before..].to_vec();
        let collections = sorted(queries.iter().map(|(c, _)| c.clone()).collect());
        assert_eq!(collections, ["groups", "users"], "{raw}");
        for (collection, filter) in &queries {
            assert!(
                filter.contains(&format!("proxyAddresses/any(x:x eq 'smtp:{raw}')")),
                "{collection}: {filter}"
            );
            assert!(filter.contains(&format!("mail eq '{raw}'")), "{filter}");
        }
    }
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert!(fake.posts().is_empty());
}

// Google Admin SDK ------------------------------------------------------------

#[tokio::test]
async fn google_clean_up_never_deletes_a_user_found_through_an_alias() {
    // support@ is Jane's alias: users.get(support@) answers Jane. Without a
    // mark, and even with one of this very token, she is not at support@.
    for external_ids in [Vec::new(), vec![google_mark(mark().token())]] {
        let (_server, fake, provider) = Google::start().await;
        let (support, _) = support();
        let jane = fake.add_user("jane@example.com", &["support@example.com"], external_ids);

        provider
            .deprovision_marked(&support, &mark())
            .await
            .unwrap();

        assert_eq!(fake.deleted(), Vec::<String>::new(), "no DELETE at all");
        assert_eq!(fake.ids(), [jane.as_str()]);
        let looked_up = fake.log();
        assert_eq!(
            looked_up,
            [(
                "GET /admin/directory/v1/users/support@example.com".to_string(),
                GOOGLE_TOKEN.to_string()
            )]
        );
    }
}

#[tokio::test]
async fn google_clean_up_deletes_a_user_by_id_only_with_its_own_token() {
    let (_server, fake, provider) = Google::start().await;
    let (support, _) = support();
    let theirs = fake.add_user(
        "support@example.com",
        &[],
        vec![
            google_mark("other-create"),
            // Our token, but under another custom type: not our mark.
            json!({ "type": "custom", "customType": "payroll", "value": mark().token() }),
        ],
    );
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted(), Vec::<String>::new());
    assert_eq!(fake.ids(), [theirs.as_str()]);

    provider
        .deprovision_marked(&support, &Mark::new("other-create"))
        .await
        .unwrap();
    assert_eq!(
        fake.deleted(),
        [theirs],
        "deleted by its id, not its address"
    );
    assert!(fake.ids().is_empty());

    let ours = fake.add_user(
        "support@example.com",
        &[],
        vec![google_mark(mark().token())],
    );
    provider
        .deprovision_marked(&support, &mark())
        .await
        .unwrap();
    assert_eq!(fake.deleted().last(), Some(&ours));
    assert!(fake.ids().is_empty());
}

#[tokio::test]
async fn google_entity_already_exists_is_success_only_for_this_creates_mark() {
    let (support, name) = support();

    let (_server, fake, provider) = Google::start().await;
    let ours = fake.add_user(
        "support@example.com",
        &[],
        vec![google_mark(mark().token())],
    );
    let account = provider.provision(&support, &name, &mark()).await.unwrap();
    assert_eq!(account.provider_ref, ours);
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.ids(), [ours]);

    // Another create's user, an employee's, and an alias of an employee.
    let not_ours: [(&str, &[&str], Vec<Value>); 3] = [
        (
            "support@example.com",
            &[],
            vec![google_mark("other-create")],
        ),
        ("support@example.com", &[], Vec::new()),
        (
            "jane@example.com",
            &["support@example.com"],
            vec![google_mark(mark().token())],
        ),
    ];
    for (primary, aliases, external_ids) in not_ours {
        let (_server, fake, provider) = Google::start().await;
        let theirs = fake.add_user(primary, aliases, external_ids);
        let error = provider
            .provision(&support, &name, &mark())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ProviderError::Rejected { .. }),
            "{primary}: {error:?}"
        );
        assert!(
            error.to_string().contains("already exists"),
            "{primary}: {error}"
        );
        assert_eq!(fake.posts().len(), 1);
        assert_eq!(fake.ids(), [theirs]);
        assert_eq!(fake.deleted(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn google_a_user_whose_create_answer_was_lost_is_found_by_its_mark() {
    let (_server, fake, provider) = Google::start().await;
    let (support, name) = support();
    fake.lose_next_answer();

    let account = provider.provision(&support, &name, &mark()).await.unwrap();

    assert_eq!(fake.posts().len(), 1, "the create is not repeated blindly");
    let ids = fake.ids();
    assert_eq!(ids, [account.provider_ref.as_str()]);
    let user = fake.user(&ids[0]).unwrap();
    assert_eq!(user.external_ids, [google_mark(mark().token())]);
    assert_eq!(user.password, account.password.expose());
}

#[tokio::test]
async fn google_the_directory_holds_users_aliases_and_groups_on_a_read_only_token() {
    let (server, fake, provider) = Google::start().await;
    // Ahead of the fake's own grant, to count the token requests.
    token_request(&server, GOOGLE_READ_SCOPES)
        .respond_with(token_response(GOOGLE_READ_TOKEN))
        // Kept for the following look-ups.
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    fake.add_user("jane@example.com", &["sales@example.com"], Vec::new());
    fake.add_group(&["team@example.com", "help@example.com"]);

    for (raw, held) in HELD {
        let before = fake.log().len();
        assert_eq!(provider.holds(&address(raw)).await.unwrap(), held, "{raw}");
        let asked = sorted(
            fake.log()[before..]
                .iter()
                .map(|(request, token)| format!("{request} {token}"))
                .collect(),
        );
        assert_eq!(
            asked,
            [
                format!("GET /admin/directory/v1/groups/{raw} {GOOGLE_READ_TOKEN}"),
                format!("GET /admin/directory/v1/users/{raw} {GOOGLE_READ_TOKEN}"),
            ]
        );
    }
    assert!(fake.posts().is_empty());
    assert!(fake.deleted().is_empty());
}

// The invocation's deadline ---------------------------------------------------

fn now_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_millis()).unwrap()
}

#[tokio::test]
async fn a_provider_call_fits_the_time_the_invocation_has_left() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/whitelabel/domains"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{ "id": 1, "domain": "example.com", "valid": true }]))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/api_keys"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    // Production's policy: 8 s a try, 3 tries; 4 s left, 3 s of them kept for the undo.
    let provider = SendGridProvider::new(
        ProviderHttp::new(RetryPolicy::default()),
        &server.uri(),
        settings(&[("SENDGRID_API_KEY", ADMIN_KEY)]),
    );
    let (support, name) = support();

    let started = Instant::now();
    let outcome = deadline::within(
        Some(now_ms() + 4_000),
        provider.provision(&support, &name, &mark()),
    )
    .await;
    let took = started.elapsed();

    let error = outcome.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(took < Duration::from_millis(1_800), "took {took:?}");
    assert!(
        took >= Duration::from_millis(800),
        "the provider's share (about 1 s) was used: {took:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
