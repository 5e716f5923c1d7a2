//! What administrators read across every user: all accounts, the audit
//! trail, the sends of each address per day.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Transaction};

use super::rows::{AccountRow, StoredAuditEntry, ACCOUNT_COLUMNS, AUDIT_COLUMNS};
use super::select;
use super::SqliteStore;
use crate::domain::{EmailAddress, SendCounts, SendEventKind, UserId};
use crate::store::encoding::{backend, corrupt, daily_count_name, provider_kind, timestamp};
use crate::store::{
    AccountFilter, AuditCursor, AuditFilter, AuditPage, DailySends, Oversight, Page, StoreError,
};

/// The domain of the `address` column, which the listing runs by first.
const DOMAIN: &str = "substr(address, instr(address, '@') + 1)";

#[async_trait]
impl Oversight for SqliteStore {
    async fn all_accounts(
        &self,
        filter: &AccountFilter,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let filter = filter.clone();
        let after = after.map(|address| (address.domain().to_string(), address.to_string()));
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM accounts
                         WHERE status != 'failed'
                           AND (?1 IS NULL OR owner = ?1)
                           AND (?2 IS NULL OR {DOMAIN} = ?2)
                           AND (?3 IS NULL OR provider = ?3)
                           AND (?4 IS NULL OR status = ?4)
                           AND (?5 IS NULL OR instr(address, ?5) > 0)
                           AND (?6 IS NULL OR ({DOMAIN}, address) > (?6, ?7))
                         ORDER BY {DOMAIN}, address LIMIT ?8"
                    ),
                    params![
                        filter.owner.as_ref().map(UserId::as_str),
                        filter.domain.as_ref().map(|domain| domain.as_str()),
                        filter.provider.map(|provider| provider.as_str()),
                        filter.status.map(|status| status.as_str()),
                        filter.address_contains.as_ref().map(|q| q.as_str()),
                        after.as_ref().map(|(domain, _)| domain.as_str()),
                        after.as_ref().map(|(_, address)| address.as_str()),
                        i64::from(limit) + 1,
                    ],
                    AccountRow::read,
                )
            })
            .await?;
        let accounts = rows
            .into_iter()
            .map(AccountRow::into_account)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::cut(accounts, limit))
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let filter = filter.clone();
        let before = after.map(|cursor| cursor.position().to_string());
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    &format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_log
                         WHERE (?1 IS NULL OR address = ?1)
                           AND (?2 IS NULL OR actor = ?2)
                           AND (?3 IS NULL OR owner = ?3)
                           AND (?4 IS NULL OR action = ?4)
                           AND (?5 IS NULL OR at >= ?5)
                           AND (?6 IS NULL OR at < ?6)
                           AND (?7 IS NULL OR position < ?7)
                         ORDER BY position DESC LIMIT ?8"
                    ),
                    params![
                        filter.address.as_ref().map(ToString::to_string),
                        filter.actor.as_ref().map(UserId::as_str),
                        filter.owner.as_ref().map(UserId::as_str),
                        filter.action.map(|action| action.as_str()),
                        filter.from.map(timestamp),
                        filter.to.map(timestamp),
                        before,
                        i64::from(limit) + 1,
                    ],
                    StoredAuditEntry::read,
                )
            })
            .await?;
        let more = rows.len() > limit as usize;
        let mut last_position = None;
        let mut entries = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.into_iter().take(limit as usize) {
            last_position = Some(row.position.clone());
            entries.push(row.into_entry()?);
        }
        let next = match last_position {
            Some(position) if more => Some(
                AuditCursor::new(&position)
                    .ok_or_else(|| corrupt(format!("bad audit position {position:?}")))?,
            ),
            _ => None,
        };
        Ok(AuditPage { entries, next })
    }

    async fn daily_sends(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailySends>, StoreError> {
        let rows = self
            .with_connection(move |connection| {
                select(
                    connection,
                    "SELECT day, address, owner, provider, sends, deliveries, bounces, complaints
                     FROM daily_sends WHERE day BETWEEN ?1 AND ?2 ORDER BY day, address",
                    params![from.to_string(), to.to_string()],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            [row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?],
                        ))
                    },
                )
            })
            .await?;
        rows.into_iter()
            .map(
                |(day, address, owner, provider, [sends, deliveries, bounces, complaints])| {
                    Ok(DailySends {
                        day: day.parse().map_err(corrupt)?,
                        address: EmailAddress::parse(&address).map_err(corrupt)?,
                        owner: UserId::parse(&owner).map_err(corrupt)?,
                        provider: provider_kind(&provider)?,
                        counts: SendCounts {
                            sends,
                            deliveries,
                            bounces,
                            complaints,
                        },
                    })
                },
            )
            .collect()
    }
}

/// Counts `count` events of `kind` on `day` for `address`, under `owner`.
pub(super) fn count_daily_send(
    tx: &Transaction<'_>,
    day: NaiveDate,
    address: &EmailAddress,
    owner: &str,
    provider: &str,
    kind: SendEventKind,
    count: u32,
) -> Result<(), StoreError> {
    let column = daily_count_name(kind);
    tx.execute(
        &format!(
            "INSERT INTO daily_sends (day, address, owner, provider, {column})
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, address) DO UPDATE
             SET {column} = {column} + excluded.{column}, owner = excluded.owner"
        ),
        params![day.to_string(), address.to_string(), owner, provider, count],
    )
    .map_err(backend)?;
    Ok(())
}
