//! How both backends write what they keep as text and numbers, and how a
//! value that does not read back becomes `Corrupt`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

use super::{ClaimState, StoreError};
use crate::domain::{DomainName, ProviderKind, SendEventKind, Suspension, SuspensionReason};

pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

pub fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// A moment as both stores keep it: RFC 3339, UTC, milliseconds.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| corrupt(format!("bad timestamp {raw:?}")))
}

/// A moment kept as epoch milliseconds (leases and expiries, compared in conditions).
pub fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| corrupt(format!("bad time {ms}")))
}

pub fn domain_name(raw: &str) -> Result<DomainName, StoreError> {
    DomainName::parse(raw).map_err(|_| corrupt(format!("bad domain {raw:?}")))
}

pub fn provider_kind(raw: &str) -> Result<ProviderKind, StoreError> {
    ProviderKind::parse(raw).ok_or_else(|| corrupt(format!("unknown provider {raw:?}")))
}

pub fn claim_state(raw: &str) -> Result<ClaimState, StoreError> {
    match raw {
        "pending" => Ok(ClaimState::Pending),
        "active" => Ok(ClaimState::Active),
        "quarantined" => Ok(ClaimState::Quarantined),
        other => Err(corrupt(format!("bad claim state {other:?}"))),
    }
}

/// The name of a kind's count on a day's record of an address's sends.
/// A UTC day as stored: `YYYY-MM-DD`.
pub fn parse_day(raw: &str) -> Result<chrono::NaiveDate, StoreError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(corrupt)
}

/// A suspension as one text attribute or column: `reason since version`.
pub fn encode_suspension(suspension: &Suspension) -> String {
    format!(
        "{} {} {}",
        suspension.reason.as_str(),
        timestamp(suspension.since),
        suspension.credentials_version
    )
}

pub fn decode_suspension(raw: &str) -> Result<Suspension, StoreError> {
    let bad = || corrupt(format!("bad suspension {raw:?}"));
    let mut parts = raw.split(' ');
    let (Some(reason), Some(since), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(Suspension {
        reason: SuspensionReason::parse(reason).ok_or_else(bad)?,
        since: parse_timestamp(since)?,
        credentials_version: version.parse().map_err(|_| bad())?,
    })
}

pub fn daily_count_name(kind: SendEventKind) -> &'static str {
    match kind {
        SendEventKind::Send => "sends",
        SendEventKind::Delivery => "deliveries",
        SendEventKind::Bounce => "bounces",
        SendEventKind::Complaint => "complaints",
    }
}
