//! SendGrid's Event Webhook: batches of events, signed (Signed Event
//! Webhook) with ECDSA P-256 / SHA-256 over the timestamp header followed
//! by the raw body. SendGrid events name the recipient, never the key that
//! sent: they cannot be attributed to one of our addresses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

use super::ReportError;
use crate::domain::SendEventKind;

/// A signed request older (or newer) than this is refused: a replay.
pub const SIGNATURE_TOLERANCE: Duration = Duration::minutes(5);

pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

/// The webhook's verification key, as SendGrid shows it: base64 of the DER
/// SubjectPublicKeyInfo of a P-256 key.
#[derive(Debug, Clone)]
pub struct SendGridWebhookKey(VerifyingKey);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Unsigned,
    #[error("the signature does not match the request")]
    BadSignature,
    #[error("the signed timestamp is more than 5 minutes from now")]
    Stale,
}

impl SendGridWebhookKey {
    pub fn parse(base64_der: &str) -> Result<Self, String> {
        let der = STANDARD
            .decode(base64_der.trim())
            .map_err(|_| "not base64".to_string())?;
        VerifyingKey::from_public_key_der(&der)
            .map(Self)
            .map_err(|_| "not the DER public key of a P-256 key".to_string())
    }

    /// Whether `body` is what SendGrid signed at `timestamp` (seconds since
    /// the epoch, as the header carries it), no more than 5 minutes from `now`.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::Unsigned);
        };
        let signature = STANDARD
            .decode(signature.trim())
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or(SignatureError::BadSignature)?;
        let mut signed = timestamp.as_bytes().to_vec();
        signed.extend_from_slice(body);
        self.0
            .verify(&signed, &signature)
            .map_err(|_| SignatureError::BadSignature)?;
        let signed_at = timestamp
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or(SignatureError::BadSignature)?;
        if (now - signed_at).abs() > SIGNATURE_TOLERANCE {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }
}

/// One event of a batch, as far as this service reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGridEvent {
    /// `sg_event_id`: unique per event, the same when SendGrid redelivers.
    pub event_key: String,
    /// `None` for the kinds not counted (opens, clicks, deferrals…).
    pub kind: Option<SendEventKind>,
    pub at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawEvent {
    sg_event_id: String,
    event: String,
    timestamp: i64,
}

/// A batch: a JSON array of events.
pub fn parse_sendgrid_batch(body: &[u8]) -> Result<Vec<SendGridEvent>, ReportError> {
    let raw: Vec<RawEvent> =
        serde_json::from_slice(body).map_err(|error| ReportError::Unreadable(error.to_string()))?;
    raw.into_iter()
        .map(|event| {
            let at = DateTime::from_timestamp(event.timestamp, 0).ok_or_else(|| {
                ReportError::Unreadable(format!("timestamp {} is out of range", event.timestamp))
            })?;
            let kind = match event.event.as_str() {
                "processed" => Some(SendEventKind::Send),
                "delivered" => Some(SendEventKind::Delivery),
                "bounce" => Some(SendEventKind::Bounce),
                "spamreport" => Some(SendEventKind::Complaint),
                _ => None,
            };
            Ok(SendGridEvent {
                event_key: format!("sendgrid:{}", event.sg_event_id),
                kind,
                at,
            })
        })
        .collect()
}
