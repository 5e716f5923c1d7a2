//! Publishing the outbox: right after a change commits (what that request
//! wrote, and whatever waited before it), and from the reconcile job
//! (what a crash or a failed publish left). Delivery is at least once:
//! a change is removed from the outbox only after its event is accepted.

use std::sync::Arc;

use chrono::Duration;

use super::{Provisioning, ServiceError};
use crate::clock::Clock;
use crate::lifecycle::{EventSink, LifecycleEvent};
use crate::store::Outbox;

/// Changes read from the outbox at a time (EventBridge takes ten a call).
const BATCH: usize = 10;
/// How long a publisher holds the changes it read before another may.
const LEASE_SECONDS: i64 = 30;

#[derive(Clone)]
pub struct Announcer {
    outbox: Arc<dyn Outbox>,
    sink: Option<Arc<dyn EventSink>>,
    clock: Arc<dyn Clock>,
}

impl Announcer {
    /// After a committed change: one batch. A failure leaves the changes
    /// in the outbox for the reconcile job; the change itself stands.
    pub async fn announce(&self) {
        if let Err(error) = self.publish_batch().await {
            tracing::warn!(%error, "lifecycle events left in the outbox for the reconcile job");
        }
    }

    /// Everything that waits, batch by batch: how many were published.
    pub async fn drain(&self) -> Result<usize, ServiceError> {
        let mut published = 0;
        loop {
            let batch = self.publish_batch().await?;
            published += batch;
            if batch < BATCH {
                return Ok(published);
            }
        }
    }

    async fn publish_batch(&self) -> Result<usize, ServiceError> {
        // No sink configured: the changes wait in the outbox.
        let Some(sink) = &self.sink else {
            return Ok(0);
        };
        let now = self.clock.now();
        let waiting = self
            .outbox
            .lease_unpublished(BATCH, now, now + Duration::seconds(LEASE_SECONDS))
            .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let events: Vec<LifecycleEvent> = waiting.iter().filter_map(LifecycleEvent::of).collect();
        let published = sink.publish(&events).await?;
        self.outbox.published(&published).await?;
        Ok(published.len())
    }
}

impl Provisioning {
    /// Publishes this process's changes to `sink` (without one, they wait
    /// in the outbox).
    pub fn with_events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    pub fn announcer(&self) -> Announcer {
        Announcer {
            outbox: self.directory.store.outbox.clone(),
            sink: self.events.clone(),
            clock: self.directory.clock.clone(),
        }
    }

    /// After a change commits: its event, published now if it can be.
    pub(super) async fn announce(&self) {
        self.announcer().announce().await;
    }
}
