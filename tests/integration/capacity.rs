//! A provider account's slots, on SQLite and on DynamoDB alike: a create
//! that would take the last one (kept for rotations) is 503
//! `provider_capacity_reached` and never reaches the provider; a delete
//! frees one; a rotation still goes through at capacity; the policy shows
//! the usage as last read. Then each adapter's count: SendGrid's keys (its
//! fake), Microsoft 365's licences (its fake); SES's IAM users are counted
//! in `provider_ses.rs` (moto).

use std::sync::Arc;

use integration_tests::calls::{
    account_action_as, assert_error, check, create_as, delete_as, send, Route,
};
use integration_tests::events::Event;
use integration_tests::provider_fakes::google::{Google, CUSTOMER_ID};
use integration_tests::provider_fakes::graph::{microsoft_at, Graph};
use integration_tests::provider_fakes::sendgrid::{SendGrid, ADMIN_KEY};
use integration_tests::provider_fakes::{self, google_with, mark, provision_default};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use provisioning::config::AuthMode;
use provisioning::domain::EmailAddress;
use provisioning::providers::{
    Capacity, Credential, MailProvider, ProviderError, SandboxProvider, SendGridProvider,
};
use serde_json::json;

/// A sandbox that holds three addresses: two creates, and one slot kept.
async fn a_create_past_the_capacity_is_refused_until_a_delete_frees_a_slot(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default().with_capacity(Some(3)));
    let app = world.app_with(sandbox.clone(), 10, AuthMode::Jwt);
    for name in ["one", "two"] {
        let made = create_as(&app, "alice", json!({ "username": name })).await;
        assert_eq!(made.0, 201, "{}", made.1);
    }
    let refused = create_as(&app, "bob", json!({ "username": "three" })).await;
    assert_error(&refused, 503, "provider_capacity_reached");
    let message = refused.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("2 of its 3"), "{message}");
    assert_eq!(
        sandbox.provisioned().len(),
        2,
        "the provider was not called"
    );
    assert_eq!(
        check(&app, "bob", "three").await.1["available"],
        true,
        "nothing was claimed"
    );

    // At capacity, a rotation still has its slot.
    let rotated = account_action_as(
        &app,
        "alice",
        "one@example.com",
        "rotate-credentials",
        Some("rotate-at-capacity-1"),
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);

    // The policy shows the usage as the refused create read it.
    let (status, policy) = send(&app, Route::List, &Event::load("policy").user("bob")).await;
    assert_eq!(status, 200);
    let capacity = &policy["provider_details"][0]["capacity"];
    assert_eq!(
        (capacity["used"].clone(), capacity["limit"].clone()),
        (json!(2), json!(3))
    );
    assert!(capacity["as_of"].is_string(), "{policy}");

    assert_eq!(delete_as(&app, "alice", "two@example.com").await.0, 200);
    let made = create_as(&app, "bob", json!({ "username": "three" })).await;
    assert_eq!(made.0, 201, "{}", made.1);
}

/// Without `SANDBOX_CAPACITY` nothing is bounded, and the policy says null.
async fn an_unbounded_provider_shows_no_capacity(world: &impl World) {
    let app = world.app();
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "one" }))
            .await
            .0,
        201
    );
    let (_, policy) = send(&app, Route::List, &Event::load("policy").user("alice")).await;
    assert_eq!(policy["provider_details"][0]["capacity"], json!(null));
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_create_past_the_capacity_is_refused_until_a_delete_frees_a_slot,
        an_unbounded_provider_shows_no_capacity,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_create_past_the_capacity_is_refused_until_a_delete_frees_a_slot,
        an_unbounded_provider_shows_no_capacity,
    );
}

#[tokio::test]
async fn sendgrid_counts_every_key_of_the_account() {
    let (_server, fake, provider) = SendGrid::start().await;
    for name in ["ci pipeline", "marketing tool", "another app"] {
        fake.add_key(name);
    }
    // Three keys of other software, and the admin key.
    assert_eq!(
        provider.capacity().await.unwrap(),
        Some(Capacity {
            used: Some(4),
            limit: 100
        })
    );
}

#[tokio::test]
async fn microsoft365_counts_the_licence_it_assigns() {
    let (server, fake, unlicensed) = Graph::start().await;
    fake.add_sku("6fd2c87f-b296-42f0-b197-1e91e994b900", 25, 24);
    assert_eq!(unlicensed.capacity().await.unwrap(), None);
    let licensed = microsoft_at(
        &server.uri(),
        &[(
            "MICROSOFT_LICENSE_SKU_ID",
            "6FD2C87F-B296-42F0-B197-1E91E994B900",
        )],
    );
    assert_eq!(
        licensed.capacity().await.unwrap(),
        Some(Capacity {
            used: Some(24),
            limit: 25
        })
    );
    let unknown = microsoft_at(&server.uri(), &[("MICROSOFT_LICENSE_SKU_ID", "not-bought")]);
    assert!(matches!(
        unknown.capacity().await,
        Err(ProviderError::Rejected { .. })
    ));
}

/// The SendGrid adapter at `server` with `SENDGRID_SUBUSERS`.
fn sendgrid_with_subusers(server: &str, subusers: &str) -> SendGridProvider {
    SendGridProvider::new(
        provider_fakes::http(),
        server,
        provider_fakes::settings(&[
            ("SENDGRID_API_KEY", ADMIN_KEY),
            ("SENDGRID_SUBUSERS", subusers),
        ]),
    )
}

fn sendgrid_address(name: &str) -> EmailAddress {
    EmailAddress::parse(&format!("{name}@example.com")).unwrap()
}

/// Past 100 keys: each new address's key goes to the subuser with the most
/// free slots; its rotation, stop and removal act there; capacity sums the
/// subusers; when none has room for a key and a spare, nothing is made.
#[tokio::test]
async fn sendgrid_spreads_keys_over_its_subusers() {
    let (server, fake, _) = SendGrid::start().await;
    fake.add_subuser("team-a", 97);
    fake.add_subuser("team-b", 95);
    let provider = sendgrid_with_subusers(&server.uri(), "team-a, team-b");
    assert_eq!(
        provider.capacity().await.unwrap(),
        Some(Capacity {
            used: Some(192),
            limit: 200
        })
    );
    let mut refs = Vec::new();
    for name in ["one", "two", "three"] {
        let address = sendgrid_address(name);
        let made = provision_default(&provider, &address).await.unwrap();
        refs.push(made.provider_ref);
    }
    let holders: Vec<&str> = refs.iter().map(|r| r.split_once('/').unwrap().0).collect();
    // team-b has 5 free, then 4 (team-a 3); then a tie at 3, to the first listed.
    assert_eq!(holders, ["team-b", "team-b", "team-a"]);
    for made in &refs {
        let id = made.split_once('/').unwrap().1;
        assert_eq!(
            Some(made.split_once('/').unwrap().0.to_string()),
            fake.holder_of(id)
        );
    }
    assert_eq!(fake.held_by(""), 1, "the account holds only its admin key");

    // Rotated, stopped and removed where its key is.
    let first = sendgrid_address("one");
    let current = Credential {
        provider_ref: refs[0].clone(),
        smtp_username: "apikey".into(),
    };
    let issued = provider
        .issue_credential(&first, &current, &mark())
        .await
        .unwrap();
    assert!(
        issued.credential.provider_ref.starts_with("team-b/"),
        "{issued:?}"
    );
    provider.revoke_credential(&first, &current).await.unwrap();
    provider
        .set_sending(&first, &issued.credential, false)
        .await
        .unwrap();
    let new_id = issued.credential.provider_ref.split_once('/').unwrap().1;
    assert_eq!(fake.key(new_id).unwrap().1, ["user.profile.read"]);
    provider
        .deprovision(&first, &issued.credential.provider_ref)
        .await
        .unwrap();
    assert!(fake.ids_for("one@example.com").is_empty());
    assert_eq!((fake.held_by("team-a"), fake.held_by("team-b")), (98, 96));

    // No subuser has room for a key and a rotation's spare: nothing is made.
    fake.add_subuser("team-c", 99);
    fake.add_subuser("team-d", 99);
    let full = sendgrid_with_subusers(&server.uri(), "team-c,team-d");
    let before = fake.count("POST /v3/api_keys");
    let address = sendgrid_address("four");
    let refused = provision_default(&full, &address).await;
    assert!(
        matches!(refused, Err(ProviderError::Rejected { .. })),
        "{refused:?}"
    );
    assert_eq!(fake.count("POST /v3/api_keys"), before);
}

/// The account alone at its 100 keys (the admin key among them): SendGrid
/// refuses the 101st, and the adapter says so.
#[tokio::test]
async fn sendgrid_refuses_a_key_past_its_limit() {
    let (_server, fake, provider) = SendGrid::start().await;
    fake.fill_account_to(100);
    let address = sendgrid_address("support");
    let refused = provision_default(&provider, &address).await;
    match refused {
        Err(ProviderError::Rejected { message, .. }) => {
            assert!(message.contains("Maximum number of API keys"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(fake.held_by(""), 100);
}

/// With a SKU configured, Google Workspace's licences of it: the Licensing
/// API's assignments, page by page, against the count bought.
#[tokio::test]
async fn google_counts_the_licences_of_its_sku() {
    let (server, fake, unlicensed) = Google::start().await;
    assert_eq!(unlicensed.capacity().await.unwrap(), None);
    fake.license(
        "Google-Apps",
        "1010020027",
        &[
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
        ],
    );
    fake.license("Google-Apps", "1010020028", &["f@example.com"]);
    let uri = server.uri();
    let licensed = |count: &'static str| {
        google_with(
            &uri,
            &[
                ("GOOGLE_LICENSE_PRODUCT_ID", "Google-Apps"),
                ("GOOGLE_LICENSE_SKU_ID", "1010020027"),
                ("GOOGLE_CUSTOMER_ID", CUSTOMER_ID),
                ("GOOGLE_LICENSE_COUNT", count),
                ("GOOGLE_LICENSING_URL", uri.as_str()),
            ],
        )
    };
    assert_eq!(
        licensed("20").capacity().await.unwrap(),
        Some(Capacity {
            used: Some(5),
            limit: 20
        })
    );
    assert!(licensed("twenty").capacity().await.is_err());
}
