//! A password exists only where a replay may ask for it: sealed in the
//! idempotency record of the request that handed it out, until that record
//! expires and the reconciler drops it. Never in clear in the store, never
//! in a secret of its own; after the window, in no store at all.

use chrono::Duration;
use integration_tests::calls::{account_action_as, create_as, create_with_key, reconcile};
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use serde_json::json;

const KEYS: [&str; 2] = [
    "3c0b5c0e-0d6b-4f7e-9a51-1f5e6f1d2a01",
    "3c0b5c0e-0d6b-4f7e-9a51-1f5e6f1d2a02",
];

fn password_of(answer: &serde_json::Value) -> String {
    answer["credentials"]["password"]
        .as_str()
        .expect("an answer with a password")
        .to_string()
}

/// Creates two addresses with keys and one without, rotates one with a key:
/// the passwords handed out, and how many were sealed.
async fn hand_out_passwords(world: &dyn World) -> Vec<String> {
    let app = world.app();
    let mut handed_out = Vec::new();
    for (name, key) in [("support", KEYS[0]), ("contact", KEYS[1])] {
        let (status, body, _) =
            create_with_key(&app, "alice", json!({ "username": name }), key).await;
        assert_eq!(status, 201, "{body}");
        handed_out.push(password_of(&body));
    }
    let (status, body) = create_as(&app, "alice", json!({ "username": "sales" })).await;
    assert_eq!(status, 201, "{body}");
    handed_out.push(password_of(&body));
    world.clock().advance(Duration::minutes(1));
    let rotated = account_action_as(
        &app,
        "alice",
        "support@example.com",
        "rotate-credentials",
        Some("rotate-support-1"),
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    handed_out.push(password_of(&rotated.1));
    handed_out
}

async fn a_password_is_kept_sealed_for_its_window_and_then_nowhere(world: &dyn World) {
    let handed_out = hand_out_passwords(world).await;
    assert_eq!(
        world.kept_passwords().await,
        3,
        "sealed for the two keyed creates and the keyed rotation, not the keyless create"
    );
    assert_no_password_in_clear(world, &handed_out).await;

    // A replay within the window: the contact@ password, unsealed.
    let app = world.app();
    let (status, replayed, was_replay) =
        create_with_key(&app, "alice", json!({ "username": "contact" }), KEYS[1]).await;
    assert_eq!((status, was_replay), (201, true), "{replayed}");
    assert_eq!(password_of(&replayed), handed_out[1]);
    // support@ was rotated since its create: that create's password is not shown again.
    let (status, refused, _) =
        create_with_key(&app, "alice", json!({ "username": "support" }), KEYS[0]).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("credentials_rotated"))
    );
    assert_eq!(
        reconcile(&app).await["passwords_dropped"],
        0,
        "kept while a replay may ask for it"
    );

    world
        .clock()
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(reconcile(&app).await["passwords_dropped"], 3);
    assert_eq!(reconcile(&app).await["passwords_dropped"], 0, "once");
    assert_eq!(world.kept_passwords().await, 0, "no copy after the window");
    assert_no_password_in_clear(world, &handed_out).await;

    // The key no longer replays: the request runs again, and hands out nothing.
    let (status, again, was_replay) =
        create_with_key(&app, "alice", json!({ "username": "contact" }), KEYS[1]).await;
    assert_eq!(
        (status, again["error"]["code"].as_str(), was_replay),
        (409, Some("address_taken"), false),
        "{again}"
    );
}

async fn assert_no_password_in_clear(world: &dyn World, handed_out: &[String]) {
    let store = world.dump().await;
    assert!(
        store.contains("support@example.com"),
        "the store is searched"
    );
    for password in handed_out {
        let secret_part = password.trim_start_matches("sandbox-");
        assert!(!store.contains(secret_part), "a password is in the store");
    }
}

/// No password has a Secrets Manager secret: the service makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_has_a_secret_of_its_own() {
    let world = AwsWorld::new().await;
    let handed_out = hand_out_passwords(&world).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&world.config);
    let mut pages = secrets.list_secrets().into_paginator().send();
    while let Some(page) = pages.next().await {
        for secret in page.unwrap().secret_list() {
            let value = secrets
                .get_secret_value()
                .secret_id(secret.arn().unwrap())
                .send()
                .await;
            let Ok(value) = value else { continue };
            let text = value.secret_string().unwrap_or_default();
            assert!(
                handed_out
                    .iter()
                    .all(|password| !text.contains(password.as_str())),
                "secret {:?} holds a password",
                secret.name()
            );
        }
    }
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_password_is_kept_sealed_for_its_window_and_then_nowhere,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_password_is_kept_sealed_for_its_window_and_then_nowhere,
    );
}

/// KMS binds each data key to its record: sealed for one address and issue
/// of its credentials, it opens for that one only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_opens_a_sealed_password_for_its_own_record_only() {
    use provisioning::domain::{EmailAddress, SmtpPassword};
    use provisioning::secrets::{KmsDataKeys, SealContext, Sealer, SecretsError};

    let world = AwsWorld::new().await;
    let sealer = Sealer::new(std::sync::Arc::new(KmsDataKeys::new(
        aws_sdk_kms::Client::new(&world.config),
        &world.password_key,
    )));
    let context = |address: &str, credentials_version| SealContext {
        address: EmailAddress::parse(address).unwrap(),
        credentials_version,
    };
    let password = SmtpPassword::new("sandbox-kms-sealed".into());
    let sealed = sealer
        .seal(&password, &context("support@example.com", 1))
        .await
        .unwrap();
    assert_eq!(
        sealer
            .open(&sealed, &context("support@example.com", 1))
            .await
            .unwrap(),
        password
    );
    for other in [
        context("sales@example.com", 1),
        context("support@example.com", 2),
    ] {
        assert!(matches!(
            sealer.open(&sealed, &other).await,
            Err(SecretsError::Unsealable(_))
        ));
    }
}
