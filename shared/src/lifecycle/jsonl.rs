//! Locally: each event appended as one JSON line (`EVENTS_FILE`), in
//! EventBridge's envelope, for a developer to `tail -f`.

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::json;

use super::{EventSink, LifecycleEvent, PublishError, SOURCE};

pub struct JsonLinesSink {
    path: PathBuf,
}

impl JsonLinesSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl EventSink for JsonLinesSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Result<Vec<String>, PublishError> {
        let lines: String = events
            .iter()
            .map(|event| {
                let line = json!({
                    "source": SOURCE,
                    "detail-type": event.detail_type,
                    "time": event.time,
                    "detail": event,
                });
                format!("{line}\n")
            })
            .collect();
        let path = self.path.clone();
        // One append of whole lines: the functions' processes share the file.
        tokio::task::spawn_blocking(move || {
            let failed =
                |error: std::io::Error| PublishError(format!("{}: {error}", path.display()));
            if let Some(folder) = path
                .parent()
                .filter(|folder| !folder.as_os_str().is_empty())
            {
                std::fs::create_dir_all(folder).map_err(failed)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| file.write_all(lines.as_bytes()))
                .map_err(failed)
        })
        .await
        .map_err(|error| PublishError(error.to_string()))??;
        Ok(events.iter().map(|event| event.id.clone()).collect())
    }
}
