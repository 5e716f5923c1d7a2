//! Several company domains in one deployment (`EMAIL_DOMAINS`): `domain`
//! in check and create picks one, the first is the default, an unlisted
//! one is 422, and addresses, suggestions and reserved names are per
//! domain. On SQLite and on DynamoDB alike.

use integration_tests::calls::{assert_error, check_body, create_as};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{DOMAIN, OTHER_DOMAIN};
use serde_json::json;

async fn one_username_is_free_on_each_domain(world: &impl World) {
    let app = world.app();
    let (status, first) = create_as(&app, "alice", json!({ "username": "contact" })).await;
    assert_eq!(
        (status, first["email"].as_str()),
        (201, Some("contact@example.com"))
    );

    let (_, other) = check_body(
        &app,
        "bob",
        json!({ "username": "contact", "domain": OTHER_DOMAIN }),
    )
    .await;
    assert_eq!(other["available"], true, "{other}");

    // The domain as the user typed it: any case.
    let typed = json!({ "username": "contact", "domain": OTHER_DOMAIN.to_uppercase() });
    let (status, second) = create_as(&app, "bob", typed).await;
    assert_eq!(
        (status, second["email"].as_str()),
        (201, Some("contact@support.example.com"))
    );

    let refused = create_as(
        &app,
        "carol",
        json!({ "username": "contact", "domain": OTHER_DOMAIN }),
    )
    .await;
    assert_error(&refused, 409, "address_taken");
    let suggestions = refused.1["error"]["suggestions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!suggestions.is_empty());
    for suggestion in &suggestions {
        let address = suggestion.as_str().unwrap();
        assert!(address.ends_with(&format!("@{OTHER_DOMAIN}")), "{address}");
    }
    // Taken on one domain says nothing of the other.
    let (_, elsewhere) = check_body(
        &app,
        "carol",
        json!({ "username": "contact-team", "domain": DOMAIN }),
    )
    .await;
    assert_eq!(elsewhere["available"], true, "{elsewhere}");
}

async fn reserved_names_and_unlisted_domains_are_refused_on_each(world: &impl World) {
    let app = world.app();
    for domain in [DOMAIN, OTHER_DOMAIN] {
        let (_, reserved) = check_body(
            &app,
            "alice",
            json!({ "username": "ceo", "domain": domain }),
        )
        .await;
        assert_eq!(reserved["reason"], "reserved", "{domain}");
        let refused = create_as(
            &app,
            "alice",
            json!({ "username": "ceo", "domain": domain }),
        )
        .await;
        assert_error(&refused, 409, "address_reserved");
    }
    for unlisted in ["elsewhere.org", "mail.example.com", "example.com.evil.org"] {
        let body = json!({ "username": "ok", "domain": unlisted });
        assert_error(
            &check_body(&app, "alice", body.clone()).await,
            422,
            "domain_not_allowed",
        );
        assert_error(
            &create_as(&app, "alice", body).await,
            422,
            "domain_not_allowed",
        );
    }
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        one_username_is_free_on_each_domain,
        reserved_names_and_unlisted_domains_are_refused_on_each,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        one_username_is_free_on_each_domain,
        reserved_names_and_unlisted_domains_are_refused_on_each,
    );
}
