//! What the providers report about an address's mail, counted per UTC day
//! and month. The counters carry the day and month they count, so they
//! roll over by key: a count of another day is simply not today's.

use chrono::{DateTime, Utc};

/// One thing a provider reports about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendEventKind {
    Send,
    Delivery,
    Bounce,
    Complaint,
}

impl SendEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Delivery => "delivery",
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
        }
    }
}

/// The counts of one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub sends: u32,
    pub deliveries: u32,
    pub bounces: u32,
    pub complaints: u32,
}

impl SendCounts {
    /// These counts with `count` more events of `kind`.
    pub fn plus(self, kind: SendEventKind, count: u32) -> Self {
        let mut counts = self;
        let counter = match kind {
            SendEventKind::Send => &mut counts.sends,
            SendEventKind::Delivery => &mut counts.deliveries,
            SendEventKind::Bounce => &mut counts.bounces,
            SendEventKind::Complaint => &mut counts.complaints,
        };
        *counter = counter.saturating_add(count);
        counts
    }
}

/// Counts and the period they are of: `2026-11-25` for a UTC day,
/// `2026-11` for a UTC month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCounts {
    pub period: String,
    pub counts: SendCounts,
}

impl PeriodCounts {
    /// The counts after `count` more events of `kind` in `period`: added
    /// when the period is this one, started afresh when it is a later one,
    /// left as they are for an earlier one (its counts are no longer kept).
    pub fn record(
        current: Option<&Self>,
        period: &str,
        kind: SendEventKind,
        count: u32,
    ) -> Option<Self> {
        match current {
            Some(kept) if kept.period.as_str() > period => None,
            Some(kept) if kept.period == period => Some(Self {
                period: period.to_string(),
                counts: kept.counts.plus(kind, count),
            }),
            _ => Some(Self {
                period: period.to_string(),
                counts: SendCounts::default().plus(kind, count),
            }),
        }
    }
}

/// An account's latest counted day and month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendStats {
    pub day: Option<PeriodCounts>,
    pub month: Option<PeriodCounts>,
    /// When the last event was counted.
    pub updated_at: Option<DateTime<Utc>>,
}

impl SendStats {
    /// Today's counts (UTC) as of `now`: zero when the last counted day is another.
    pub fn today(&self, now: DateTime<Utc>) -> SendCounts {
        counts_of(self.day.as_ref(), &utc_day(now))
    }

    /// This month's counts (UTC) as of `now`.
    pub fn this_month(&self, now: DateTime<Utc>) -> SendCounts {
        counts_of(self.month.as_ref(), &utc_month(now))
    }
}

fn counts_of(kept: Option<&PeriodCounts>, period: &str) -> SendCounts {
    kept.filter(|kept| kept.period == period)
        .map(|kept| kept.counts)
        .unwrap_or_default()
}

pub fn utc_day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

pub fn utc_month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn counts_roll_over_by_their_key() {
        let before_midnight = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap();
        let after_midnight = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let day = PeriodCounts::record(None, &utc_day(before_midnight), SendEventKind::Send, 1);
        let day = PeriodCounts::record(
            day.as_ref(),
            &utc_day(before_midnight),
            SendEventKind::Send,
            1,
        );
        let stats = SendStats {
            day,
            month: PeriodCounts::record(
                None,
                &utc_month(before_midnight),
                SendEventKind::Bounce,
                1,
            ),
            updated_at: Some(before_midnight),
        };
        assert_eq!(stats.today(before_midnight).sends, 2);
        assert_eq!(stats.this_month(before_midnight).bounces, 1);
        assert_eq!(stats.today(after_midnight), SendCounts::default());
        assert_eq!(stats.this_month(after_midnight), SendCounts::default());
    }

    #[test]
    fn a_late_event_of_an_earlier_period_leaves_the_kept_one() {
        let kept = PeriodCounts::record(None, "2026-12-01", SendEventKind::Delivery, 1).unwrap();
        assert_eq!(
            PeriodCounts::record(Some(&kept), "2026-11-30", SendEventKind::Send, 1),
            None
        );
        let next = PeriodCounts::record(Some(&kept), "2026-12-02", SendEventKind::Send, 1).unwrap();
        assert_eq!(
            (
                next.period.as_str(),
                next.counts.sends,
                next.counts.deliveries
            ),
            ("2026-12-02", 1, 0)
        );
    }
}
