//! What administrators read across every user, through the `admin` index
//! (`admin_pk`/`admin_sk`): every account in the `ACCOUNTS` partition by
//! domain and address; the audit entries of a month in `AUDIT#<yyyy-mm>`
//! by position (time first); the daily sends of a month in
//! `SENDS#<yyyy-mm>` by day and address. Filters that are not a key range
//! are applied to what a query returns.
//!
//! Round trips: a page of accounts is one `Query` of up to 200 index items
//! per round trip, until the page is full (with filters that match few
//! accounts, more round trips, at most 10, then the page ends early with a
//! cursor); with `owner`, one `Query` of that owner's partition. A page of
//! audit entries is the same over the months it spans, newest first (with
//! `owner`, that owner's partition). The daily sends of a report are one
//! `Query` per month (and per 1 MB) of its range.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use super::items::{
    account_from_item, account_index_position, audit_from_item, audit_partition,
    daily_sends_partition, s, Item, ItemExt, ACCOUNTS_PARTITION,
};
use super::DynamoStore;
use crate::domain::{AccountStatus, EmailAddress, SendCounts, UserId};
use crate::store::encoding::{backend, corrupt, provider_kind, timestamp};
use crate::store::{
    listing_order, AccountFilter, AuditCursor, AuditFilter, AuditPage, DailySends, Oversight, Page,
    StoreError,
};

const INDEX: &str = "admin";
/// Index items one round trip reads.
const BATCH: i32 = 200;
/// Round trips one page may cost; past them it ends early, with a cursor.
const MAX_QUERIES_PER_PAGE: usize = 10;
/// Above every character an address or a position holds.
const HIGHEST: &str = "~";
/// Below every character an address holds (a key may not be empty).
const LOWEST: &str = "!";

/// A key range of one partition, of the table or of the admin index.
struct Range {
    index: Option<&'static str>,
    partition: String,
    low: String,
    high: String,
    newest_first: bool,
}

impl Range {
    fn of_index(partition: String, low: String, high: String, newest_first: bool) -> Self {
        Self {
            index: Some(INDEX),
            partition,
            low,
            high,
            newest_first,
        }
    }
}

#[async_trait]
impl Oversight for DynamoStore {
    async fn all_accounts(
        &self,
        filter: &AccountFilter,
        limit: u32,
        after: Option<&EmailAddress>,
    ) -> Result<Page, StoreError> {
        let page_size = limit as usize;
        let listed = |item: &Item| -> Result<Option<_>, StoreError> {
            let account = account_from_item(item)?;
            Ok(
                (account.status != AccountStatus::Failed && filter.matches(&account))
                    .then_some(account),
            )
        };
        if let Some(owner) = &filter.owner {
            // One owner's accounts are few: read whole, put in listing order here.
            let range = Range {
                index: None,
                partition: format!("USER#{owner}"),
                low: "ACCOUNT#".into(),
                high: format!("ACCOUNT#{HIGHEST}"),
                newest_first: false,
            };
            let mut accounts = Vec::new();
            let mut start = None;
            loop {
                let (items, next) = self.query_range(&range, start, None).await?;
                for item in &items {
                    accounts.extend(listed(item)?);
                }
                match next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            accounts.sort_by(|a, b| listing_order(&a.address).cmp(&listing_order(&b.address)));
            accounts.retain(|account| {
                after.is_none_or(|after| listing_order(&account.address) > listing_order(after))
            });
            return Ok(Page::cut(accounts, limit));
        }
        let (low, high) = match &filter.domain {
            Some(domain) => (format!("{domain}#"), format!("{domain}#{HIGHEST}")),
            None => (LOWEST.to_string(), HIGHEST.to_string()),
        };
        let low = match after {
            Some(after) => account_index_position(after).max(low),
            None => low,
        };
        let range = Range::of_index(ACCOUNTS_PARTITION.into(), low, high, false);
        let mut accounts = Vec::new();
        let mut start = None;
        let mut last_read = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let (items, next) = self.query_range(&range, start, Some(BATCH)).await?;
            for item in &items {
                let address = EmailAddress::parse(item.text("address")?).map_err(corrupt)?;
                if Some(&address) == after {
                    continue;
                }
                if let Some(account) = listed(item)? {
                    if accounts.len() == page_size {
                        return Ok(Page {
                            next_after: last_read,
                            accounts,
                        });
                    }
                    accounts.push(account);
                }
                last_read = Some(address);
            }
            match next {
                Some(next) => start = Some(next),
                None => {
                    return Ok(Page {
                        accounts,
                        next_after: None,
                    })
                }
            }
        }
        Ok(Page {
            accounts,
            next_after: last_read,
        })
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let limit = limit as usize;
        let to = filter
            .to
            .unwrap_or_else(|| Utc::now() + chrono::Duration::days(1));
        let from = filter.from.unwrap_or(to - self.audit_retention);
        let mut high = timestamp(to);
        if let Some(cursor) = after {
            high = high.min(cursor.position().to_string());
        }
        let low = timestamp(from);
        let ranges: Vec<Range> = match &filter.owner {
            Some(owner) => vec![Range {
                index: None,
                partition: format!("USER#{owner}"),
                low: format!("LOG#{low}"),
                high: format!("LOG#{high}"),
                newest_first: true,
            }],
            None => months_back(&high, from)?
                .into_iter()
                .map(|month| {
                    Range::of_index(audit_partition(month), low.clone(), high.clone(), true)
                })
                .collect(),
        };
        let mut entries = Vec::new();
        let mut resume: Option<String> = None;
        let mut queries = 0;
        for range in &ranges {
            let mut start = None;
            loop {
                if queries == MAX_QUERIES_PER_PAGE {
                    return Ok(AuditPage {
                        entries,
                        next: resume.as_deref().and_then(AuditCursor::new),
                    });
                }
                queries += 1;
                let (items, next) = self.query_range(range, start, Some(BATCH)).await?;
                for item in &items {
                    let position = item
                        .text("sk")?
                        .strip_prefix("LOG#")
                        .ok_or_else(|| corrupt("an audit item without its position"))?;
                    if position == high {
                        continue;
                    }
                    let entry = audit_from_item(item)?;
                    if filter.matches(&entry) {
                        if entries.len() == limit {
                            return Ok(AuditPage {
                                entries,
                                next: resume.as_deref().and_then(AuditCursor::new),
                            });
                        }
                        entries.push(entry);
                    }
                    resume = Some(position.to_string());
                }
                match next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            // This month is read: a page that stops here resumes before it.
            if let Some(month) = range.partition.strip_prefix("AUDIT#") {
                resume = Some(format!("{month}-01T00:00:00.000Z#0#0"));
            }
        }
        Ok(AuditPage {
            entries,
            next: None,
        })
    }

    async fn daily_sends(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailySends>, StoreError> {
        let mut sends = Vec::new();
        let mut month = from.with_day(1).unwrap_or(from);
        while month <= to {
            let range = Range::of_index(
                daily_sends_partition(month),
                format!("{from}#"),
                format!("{to}#{HIGHEST}"),
                false,
            );
            let mut start = None;
            loop {
                let (items, next) = self.query_range(&range, start, None).await?;
                for item in &items {
                    sends.push(daily_sends_from_item(item)?);
                }
                match next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            month = month + Months::new(1);
        }
        Ok(sends)
    }
}

impl DynamoStore {
    /// One round trip over `range`, from `start`: the items, and where the
    /// next round trip starts when more follow.
    async fn query_range(
        &self,
        range: &Range,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk, sk) = match range.index {
            Some(_) => ("admin_pk", "admin_sk"),
            None => ("pk", "sk"),
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(range.index.map(str::to_string))
            .key_condition_expression(format!("{pk} = :partition AND {sk} BETWEEN :low AND :high"))
            .expression_attribute_values(":partition", s(&range.partition))
            .expression_attribute_values(":low", s(&range.low))
            .expression_attribute_values(":high", s(&range.high))
            .scan_index_forward(!range.newest_first)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(backend)?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }
}

/// The first instant of each UTC month from the one of position `high`
/// back to the one of `from`, newest first.
fn months_back(high: &str, from: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let newest = high
        .split('#')
        .next()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .ok_or_else(|| corrupt(format!("bad audit bound {high:?}")))?
        .with_timezone(&Utc);
    let first_of = |at: DateTime<Utc>| {
        at.date_naive()
            .with_day(1)
            .unwrap_or(at.date_naive())
            .and_hms_opt(0, 0, 0)
            .map(|midnight| midnight.and_utc())
            .unwrap_or(at)
    };
    let oldest = first_of(from);
    let mut months = Vec::new();
    let mut month = first_of(newest);
    while month >= oldest {
        months.push(month);
        month = month - Months::new(1);
    }
    Ok(months)
}

pub(super) fn daily_sends_from_item(item: &Item) -> Result<DailySends, StoreError> {
    let count = |name: &str| -> Result<u32, StoreError> {
        match item.get(name) {
            None => Ok(0),
            Some(_) => item.number(name),
        }
    };
    Ok(DailySends {
        day: item.text("day")?.parse().map_err(corrupt)?,
        address: EmailAddress::parse(item.text("address")?).map_err(corrupt)?,
        owner: UserId::parse(item.text("owner")?).map_err(corrupt)?,
        provider: provider_kind(item.text("provider")?)?,
        counts: SendCounts {
            sends: count("sends")?,
            deliveries: count("deliveries")?,
            bounces: count("bounces")?,
            complaints: count("complaints")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_months_of_an_audit_range_run_back_to_the_first() {
        let from = Utc.with_ymd_and_hms(2026, 10, 15, 12, 0, 0).unwrap();
        let months = months_back("2026-12-01T09:00:00.000Z#ab#1", from).unwrap();
        let names: Vec<String> = months.iter().map(|m| audit_partition(*m)).collect();
        assert_eq!(names, ["AUDIT#2026-12", "AUDIT#2026-11", "AUDIT#2026-10"]);
    }
}
