//! The production store: one DynamoDB table, string keys `pk`/`sk`, TTL
//! attribute `ttl`, items as docs/ARCHITECTURE.md lays them out:
//!
//! | item    | pk                  | sk                                  |
//! | ------- | ------------------- | ----------------------------------- |
//! | claim   | `EMAIL#<address>`   | `CLAIM`                             |
//! | account | `USER#<user_id>`    | `ACCOUNT#<address>`                 |
//! | quota   | `USER#<user_id>`    | `QUOTA#<yyyy-mm-dd>`                |
//! | rotations | `USER#<user_id>`  | `ROTATIONS#<yyyy-mm-dd>`            |
//! | audit   | `USER#<user_id>`    | `LOG#<timestamp>#<request_id>#<n>`  |
//!
//! | look-alikes | `LOOKALIKE#<key>` | `LOOKALIKE`                    |
//!
//! A look-alike item (`store::lookalike_key`: `suport@example.com` for
//! `support@` and `supp0rt@`) keeps the set of addresses ever claimed with
//! that key, added to in the reservation's transaction; whether each still
//! holds its address is its claim's to say.
//!
//! Round trips: `claims` is one `BatchGetItem`, `lookalikes_of` one
//! consistent `GetItem` (and a `BatchGetItem` of the claims it names, when
//! it names another address), a page of `list_accounts` one `Query`,
//! `reserve`/`activate`/`release` one `TransactWriteItems` each (a takeover
//! of a stalled claim costs one `GetItem` more). A transaction that meets
//! another one on the same items (`TransactionConflict`) is tried again
//! after a short wait, then answered as a request in progress.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};

use crate::store::encoding::backend;
use crate::store::{AuditAction, AuditSubject, StoreError, DEFAULT_AUDIT_RETENTION};
use items::{audit_item, contended_wait, outbox_item, Item, CONTENDED_TRIES};

mod accounts;
mod audit;
mod changes;
mod claims;
mod domains;
mod idempotency;
mod items;
mod keys;
mod outbox;
mod oversight;
mod reservations;
mod send_counters;
mod usage;

pub struct DynamoStore {
    client: Client,
    table: String,
    /// How long TTL keeps audit entries and daily send counts.
    audit_retention: Duration,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            audit_retention: DEFAULT_AUDIT_RETENTION,
        }
    }

    /// Audit entries (and daily send counts) kept for `retention`.
    pub fn with_audit_retention(self, retention: Duration) -> Self {
        Self {
            audit_retention: retention,
            ..self
        }
    }
}

/// Why a transaction was refused, by the role of the item whose condition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// The address claim: someone else holds it, or it is no longer ours.
    Claim,
    /// The daily create quota.
    Quota,
    /// A provider report counted before.
    Event,
    /// A best-effort write: if its condition fails, the rest still goes in.
    Optional,
    /// A write with no condition.
    Unconditional,
}

enum TransactionOutcome {
    Committed,
    Refused(Guard),
}

impl DynamoStore {
    fn put(&self, item: Item) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set")
    }

    fn audit_put<'a>(
        &self,
        subject: impl Into<AuditSubject<'a>>,
        action: AuditAction,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(self.put(audit_item(
                subject.into(),
                action,
                at,
                error,
                self.audit_retention,
            )))
            .build()
    }

    /// The audit entry of a change that succeeded, and when it is announced
    /// (`AuditAction::announced`) its place in the outbox: `OUTBOX` /
    /// position, a copy of the entry, until published.
    fn audit_writes<'a>(
        &self,
        subject: impl Into<AuditSubject<'a>>,
        action: AuditAction,
        at: DateTime<Utc>,
    ) -> Vec<(TransactWriteItem, Guard)> {
        let subject = subject.into();
        let mut writes = vec![(
            self.audit_put(subject, action, at, None),
            Guard::Unconditional,
        )];
        if action.announced() {
            writes.push((
                TransactWriteItem::builder()
                    .put(self.put(outbox_item(subject, action, at)))
                    .build(),
                Guard::Unconditional,
            ));
        }
        writes
    }

    /// Writes `items` in one transaction. When only optional conditions
    /// fail, the transaction is written again without those items.
    async fn transact(
        &self,
        mut items: Vec<(TransactWriteItem, Guard)>,
    ) -> Result<TransactionOutcome, StoreError> {
        let mut conflicts = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.iter().map(|(item, _)| item.clone()).collect()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(TransactionOutcome::Committed),
                Err(error) => error.into_service_error(),
            };
            let TransactWriteItemsError::TransactionCanceledException(cancelled) = &error else {
                return Err(backend(error));
            };
            // Another transaction was writing the same items: nothing was
            // written, and this one may well go through a moment later.
            let conflicted = cancelled
                .cancellation_reasons()
                .iter()
                .any(|reason| reason.code() == Some("TransactionConflict"));
            if conflicted {
                conflicts += 1;
                if conflicts >= CONTENDED_TRIES {
                    return Err(StoreError::Contended);
                }
                tokio::time::sleep(contended_wait(conflicts)).await;
                continue;
            }
            let failed: Vec<usize> = cancelled
                .cancellation_reasons()
                .iter()
                .enumerate()
                .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                .map(|(index, _)| index)
                .collect();
            if failed.is_empty() {
                return Err(backend(error));
            }
            let guards: Vec<Guard> = failed.iter().map(|&i| items[i].1).collect();
            for guard in [Guard::Claim, Guard::Quota, Guard::Event] {
                if guards.contains(&guard) {
                    return Ok(TransactionOutcome::Refused(guard));
                }
            }
            if !guards.iter().all(|guard| *guard == Guard::Optional) {
                return Err(backend(error));
            }
            for index in failed.into_iter().rev() {
                items.remove(index);
            }
        }
    }

    /// A transaction that only holds while this request's token does: a
    /// refused guard means the reservation or hold has passed to another.
    async fn transact_under_token(
        &self,
        items: Vec<(TransactWriteItem, Guard)>,
    ) -> Result<(), StoreError> {
        match self.transact(items).await? {
            TransactionOutcome::Committed => Ok(()),
            TransactionOutcome::Refused(_) => Err(StoreError::ReservationLost),
        }
    }

    /// The items of `keys`, read consistently, 100 a round trip; keys
    /// DynamoDB leaves unprocessed (it does when throttling) are asked for
    /// again after a growing wait.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = chunk.to_vec();
            let mut rounds = 0;
            while !pending.is_empty() {
                if rounds > 0 {
                    if rounds >= CONTENDED_TRIES {
                        return Err(StoreError::Contended);
                    }
                    tokio::time::sleep(contended_wait(rounds)).await;
                }
                rounds += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(backend)?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(backend)?;
                if let Some(items) = output.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                if let Some(unprocessed) =
                    output.unprocessed_keys().and_then(|u| u.get(&self.table))
                {
                    pending = unprocessed.keys().to_vec();
                }
            }
        }
        Ok(found)
    }

    /// One item, read after every write that preceded the read.
    async fn consistent_get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }
}
