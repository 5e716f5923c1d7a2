//! Each domain's readiness at each provider as last checked.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::select;
use super::SqliteStore;
use crate::domain::mail_dns::DomainReading;
use crate::store::encoding::{backend, domain_name, parse_timestamp, provider_kind, timestamp};
use crate::store::{DomainReadings, StoreError};

const COLUMNS: &str = "domain, provider, ready, reason, failing, at";

type Row = (String, String, bool, Option<String>, u32, String);

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn reading_from(
    (domain, provider, ready, reason, failing, at): Row,
) -> Result<DomainReading, StoreError> {
    Ok(DomainReading {
        domain: domain_name(&domain)?,
        provider: provider_kind(&provider)?,
        ready,
        reason,
        failing,
        at: parse_timestamp(&at)?,
    })
}

#[async_trait]
impl DomainReadings for SqliteStore {
    async fn record_domain_reading(
        &self,
        reading: &DomainReading,
    ) -> Result<Option<DomainReading>, StoreError> {
        let reading = reading.clone();
        let before = self
            .in_transaction(move |tx| {
                let key = params![reading.domain.as_str(), reading.provider.as_str()];
                let before = tx
                    .query_row(
                        &format!(
                            "SELECT {COLUMNS} FROM domain_readings WHERE domain = ?1 AND provider = ?2"
                        ),
                        key,
                        row,
                    )
                    .optional()
                    .map_err(backend)?;
                tx.execute(
                    "INSERT INTO domain_readings (domain, provider, ready, reason, failing, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (domain, provider) DO UPDATE SET ready = excluded.ready,
                       reason = excluded.reason, failing = excluded.failing, at = excluded.at",
                    params![
                        reading.domain.as_str(),
                        reading.provider.as_str(),
                        reading.ready,
                        reading.reason,
                        reading.failing,
                        timestamp(reading.at),
                    ],
                )
                .map_err(backend)?;
                Ok(before)
            })
            .await?;
        before.map(reading_from).transpose()
    }

    async fn domain_readings(&self) -> Result<Vec<DomainReading>, StoreError> {
        let rows = self
            .with_connection(|connection| {
                select(
                    connection,
                    &format!("SELECT {COLUMNS} FROM domain_readings ORDER BY domain, provider"),
                    [],
                    row,
                )
            })
            .await?;
        rows.into_iter().map(reading_from).collect()
    }
}
