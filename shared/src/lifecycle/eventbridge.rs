//! In AWS: PutEvents on the stack's bus, ten events a call (its limit).

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::{EventSink, LifecycleEvent, PublishError, SOURCE};

const EVENTS_PER_CALL: usize = 10;

pub struct EventBridgeSink {
    client: Client,
    bus: String,
}

impl EventBridgeSink {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventSink for EventBridgeSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Result<Vec<String>, PublishError> {
        let mut published = Vec::new();
        for batch in events.chunks(EVENTS_PER_CALL) {
            let entries = batch
                .iter()
                .map(|event| {
                    let detail = serde_json::to_string(event)
                        .map_err(|error| PublishError(error.to_string()))?;
                    Ok(PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(event.detail_type)
                        .detail(detail)
                        .build())
                })
                .collect::<Result<Vec<_>, PublishError>>()?;
            let answer = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| PublishError(error.into_service_error().to_string()))?;
            // One result per entry, in order; a failed one carries an error code.
            for (event, result) in batch.iter().zip(answer.entries()) {
                match result.error_code() {
                    None => published.push(event.id.clone()),
                    Some(code) => tracing::warn!(
                        id = event.id,
                        code,
                        message = result.error_message().unwrap_or_default(),
                        "EventBridge refused an event; it stays in the outbox"
                    ),
                }
            }
        }
        Ok(published)
    }
}
