//! SendGrid's signed Event Webhook (`POST /api/email/events/sendgrid`), on
//! SQLite and on DynamoDB alike: batches signed in the test with a P-256
//! key it generates (ECDSA over timestamp + raw body, as SendGrid signs);
//! unsigned, wrongly signed, altered and stale batches are 401 and count
//! nothing; a redelivered event counts once. `events/sendgrid-webhook.json`
//! carries a real batch; its signature header is replaced by the test's.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Duration;
use integration_tests::calls::{assert_error, read};
use integration_tests::events::Event;
use integration_tests::world_tests;
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use provisioning::clock::Clock;
use provisioning::events::SendGridWebhookKey;
use provisioning::http::sendgrid_events;
use provisioning::WebhookApp;
use serde_json::Value;

fn new_key() -> SigningKey {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
            return key;
        }
    }
}

/// What SendGrid shows in its settings: base64 DER of the public key.
fn public_key_text(key: &SigningKey) -> String {
    let der = key.verifying_key().to_public_key_der().unwrap();
    STANDARD.encode(der.as_bytes())
}

fn webhook(world: &impl World, key: Option<&SigningKey>) -> WebhookApp {
    WebhookApp {
        directory: world.app().read().directory.clone(),
        sendgrid_key: key.map(|key| SendGridWebhookKey::parse(&public_key_text(key)).unwrap()),
    }
}

fn batch() -> String {
    Event::load("sendgrid-webhook").0["body"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The webhook event carrying `body`, signed by `key` at `timestamp`.
fn signed(key: &SigningKey, timestamp: i64, body: &str) -> Event {
    let timestamp = timestamp.to_string();
    let signature: Signature = key.sign(format!("{timestamp}{body}").as_bytes());
    Event::load("sendgrid-webhook")
        .body(body)
        .header("x-twilio-email-event-webhook-timestamp", &timestamp)
        .header(
            "x-twilio-email-event-webhook-signature",
            &STANDARD.encode(signature.to_der().as_bytes()),
        )
}

async fn post(app: &WebhookApp, event: &Event) -> (u16, Value) {
    read(sendgrid_events(app, event.request()).await.unwrap())
}

async fn a_signed_batch_is_tallied_and_a_redelivery_counts_nothing(world: &impl World) {
    let key = new_key();
    let app = webhook(world, Some(&key));
    let now = world.clock().now().timestamp();
    let (status, tally) = post(&app, &signed(&key, now, &batch())).await;
    assert_eq!(status, 200, "{tally}");
    // processed, delivered, bounce, spamreport; open and deferred are not counted.
    assert_eq!(
        tally,
        serde_json::json!({ "counted": 4, "duplicates": 0, "not_counted": 2 })
    );

    let again = webhook(world, Some(&key));
    let (status, tally) = post(&again, &signed(&key, now + 60, &batch())).await;
    assert_eq!(status, 200);
    assert_eq!(
        tally,
        serde_json::json!({ "counted": 0, "duplicates": 4, "not_counted": 2 })
    );
}

async fn unsigned_forged_altered_and_stale_batches_are_401_and_count_nothing(world: &impl World) {
    let key = new_key();
    let app = webhook(world, Some(&key));
    let now = world.clock().now().timestamp();
    let body = batch();

    let unsigned = Event::load("sendgrid-webhook")
        .without_header("x-twilio-email-event-webhook-signature")
        .body(&body);
    let forged = signed(&new_key(), now, &body);
    let altered = {
        let genuine = signed(&key, now, &body);
        genuine.body(&body.replace("processed", "delivered"))
    };
    let stale = signed(&key, now - Duration::minutes(6).num_seconds(), &body);
    let early = signed(&key, now + Duration::minutes(6).num_seconds(), &body);
    for (name, event) in [
        ("unsigned", unsigned),
        ("forged", forged),
        ("altered", altered),
        ("stale", stale),
        ("from the future", early),
    ] {
        let response = post(&app, &event).await;
        assert_error(&response, 401, "invalid_signature");
        assert!(!response.1.to_string().contains("sg_event_id"), "{name}");
    }
    // The fixture's own signature is no key's.
    assert_error(
        &post(&app, &Event::load("sendgrid-webhook")).await,
        401,
        "invalid_signature",
    );

    // Nothing was remembered: the genuine batch still counts in full.
    let (status, tally) = post(&app, &signed(&key, now, &body)).await;
    assert_eq!((status, tally["counted"].as_u64()), (200, Some(4)));
}

async fn without_a_configured_key_nothing_is_accepted(world: &impl World) {
    let key = new_key();
    let app = webhook(world, None);
    let now = world.clock().now().timestamp();
    assert_error(
        &post(&app, &signed(&key, now, &batch())).await,
        401,
        "invalid_signature",
    );
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        a_signed_batch_is_tallied_and_a_redelivery_counts_nothing,
        unsigned_forged_altered_and_stale_batches_are_401_and_count_nothing,
        without_a_configured_key_nothing_is_accepted,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        a_signed_batch_is_tallied_and_a_redelivery_counts_nothing,
        unsigned_forged_altered_and_stale_batches_are_401_and_count_nothing,
        without_a_configured_key_nothing_is_accepted,
    );
}
