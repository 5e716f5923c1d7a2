//! Guard rails per address: a daily send limit, and bounce and complaint
//! rates over a rolling week. Crossing one suspends the address (sending
//! stopped at the provider) until what lifts that reason happens.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{ProviderKind, SendCounts};

/// How many days the rates are counted over, today included.
pub const RATE_WINDOW_DAYS: i64 = 7;
/// Below this many sends in the window, no rate is judged: a few bounces
/// of a quiet address say nothing.
pub const RATE_MINIMUM_SENDS: u32 = 50;

/// Why an address is suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuspensionReason {
    SendLimit,
    BounceRate,
    ComplaintRate,
}

impl SuspensionReason {
    pub const ALL: [Self; 3] = [Self::SendLimit, Self::BounceRate, Self::ComplaintRate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendLimit => "send_limit",
            Self::BounceRate => "bounce_rate",
            Self::ComplaintRate => "complaint_rate",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == raw)
    }
}

/// An address's suspension: why, since when, and the issue of its
/// credentials then (the owner may resume only with newer ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspension {
    pub reason: SuspensionReason,
    pub since: DateTime<Utc>,
    pub credentials_version: u32,
}

/// What lifts a suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lift {
    /// By itself at the next UTC midnight (or by an administrator before).
    NextUtcDay(DateTime<Utc>),
    /// By an administrator only.
    Administrator,
    /// By an administrator, or by the owner once the credentials are rotated.
    OwnerAfterRotation,
}

impl Lift {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NextUtcDay(_) => "next_utc_day",
            Self::Administrator => "administrator",
            Self::OwnerAfterRotation => "owner_after_rotation",
        }
    }
}

/// The settings: `ADDRESS_DAILY_SEND_LIMIT`, `ADDRESS_MAX_BOUNCE_RATE`,
/// `ADDRESS_MAX_COMPLAINT_RATE` (fractions here), `ADDRESS_SELF_RESUME`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardRails {
    pub daily_send_limit: Option<u32>,
    pub max_bounce_rate: f64,
    pub max_complaint_rate: f64,
    pub self_resume: bool,
}

impl Default for GuardRails {
    fn default() -> Self {
        Self {
            daily_send_limit: None,
            max_bounce_rate: 0.05,
            max_complaint_rate: 0.001,
            self_resume: false,
        }
    }
}

impl GuardRails {
    /// Whether the provider reports each address's sends, bounces and
    /// complaints as they happen, which the rails need; why not, if not.
    pub fn enforced_for(provider: ProviderKind) -> Result<(), &'static str> {
        match provider {
            ProviderKind::Ses | ProviderKind::Sandbox => Ok(()),
            ProviderKind::Sendgrid => Err("SendGrid's event webhook does not say which API key sent a message, so no address's sends can be counted on their own"),
            ProviderKind::Microsoft365 | ProviderKind::Google => Err("the provider reports a mailbox's sends only in a daily usage report, without bounces or complaints: too late to stop a leaked credential"),
        }
    }

    /// The first days counted for an address that was resumed on
    /// `resumed_on` (if ever), as of `today`.
    pub fn window_start(today: NaiveDate, counted_from: Option<NaiveDate>) -> NaiveDate {
        let week = today - Duration::days(RATE_WINDOW_DAYS - 1);
        counted_from.map_or(week, |from| from.max(week))
    }

    /// Which rail the counted days cross, if any: `days` are the address's
    /// counts per UTC day from `window_start` to `today`. A complaint rate
    /// comes first, then a bounce rate (neither lifts by itself), then the
    /// day's send limit, reached at its last allowed send.
    pub fn crossed(
        &self,
        days: &[(NaiveDate, SendCounts)],
        today: NaiveDate,
    ) -> Option<SuspensionReason> {
        let total = days
            .iter()
            .fold(SendCounts::default(), |sum, (_, counts)| SendCounts {
                sends: sum.sends + counts.sends,
                deliveries: sum.deliveries + counts.deliveries,
                bounces: sum.bounces + counts.bounces,
                complaints: sum.complaints + counts.complaints,
            });
        if total.sends >= RATE_MINIMUM_SENDS {
            let rate = |count: u32| f64::from(count) / f64::from(total.sends);
            if rate(total.complaints) > self.max_complaint_rate {
                return Some(SuspensionReason::ComplaintRate);
            }
            if rate(total.bounces) > self.max_bounce_rate {
                return Some(SuspensionReason::BounceRate);
            }
        }
        let sent_today: u32 = days
            .iter()
            .filter(|(day, _)| *day == today)
            .map(|(_, counts)| counts.sends)
            .sum();
        match self.daily_send_limit {
            Some(limit) if sent_today >= limit => Some(SuspensionReason::SendLimit),
            _ => None,
        }
    }

    /// What lifts a suspension for `reason` that began at `since`.
    pub fn lift(&self, reason: SuspensionReason, since: DateTime<Utc>) -> Lift {
        match reason {
            SuspensionReason::SendLimit => Lift::NextUtcDay(next_utc_midnight(since)),
            _ if self.self_resume => Lift::OwnerAfterRotation,
            _ => Lift::Administrator,
        }
    }
}

/// The UTC midnight after `at`.
pub fn next_utc_midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    let today = at.date_naive();
    today
        .succ_opt()
        .unwrap_or(today)
        .and_hms_opt(0, 0, 0)
        .map_or(at, |midnight| midnight.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn counts(sends: u32, bounces: u32, complaints: u32) -> SendCounts {
        SendCounts {
            sends,
            bounces,
            complaints,
            ..SendCounts::default()
        }
    }

    #[test]
    fn rates_are_judged_from_fifty_sends_over_the_week() {
        let rails = GuardRails::default();
        let quiet = [(day(1), counts(49, 40, 10))];
        assert_eq!(rails.crossed(&quiet, day(1)), None, "49 sends say nothing");
        let bouncing = [(day(1), counts(30, 2, 0)), (day(2), counts(30, 2, 0))];
        assert_eq!(
            rails.crossed(&bouncing, day(2)),
            Some(SuspensionReason::BounceRate)
        );
        let at_the_rate = [(day(2), counts(100, 5, 0))];
        assert_eq!(
            rails.crossed(&at_the_rate, day(2)),
            None,
            "5% is allowed, above is not"
        );
        let complaining = [(day(2), counts(1000, 60, 2))];
        assert_eq!(
            rails.crossed(&complaining, day(2)),
            Some(SuspensionReason::ComplaintRate),
            "a complaint rate comes before a bounce rate"
        );
    }

    #[test]
    fn the_send_limit_counts_today_only_and_is_reached_at_its_last_send() {
        let rails = GuardRails {
            daily_send_limit: Some(10),
            ..GuardRails::default()
        };
        let days = [(day(1), counts(40, 0, 0)), (day(2), counts(9, 0, 0))];
        assert_eq!(rails.crossed(&days, day(2)), None);
        let days = [(day(1), counts(40, 0, 0)), (day(2), counts(10, 0, 0))];
        assert_eq!(
            rails.crossed(&days, day(2)),
            Some(SuspensionReason::SendLimit)
        );
        assert_eq!(
            GuardRails::default().crossed(&days, day(2)),
            None,
            "no limit by default"
        );
    }

    #[test]
    fn the_window_is_a_week_or_since_a_resume() {
        assert_eq!(GuardRails::window_start(day(10), None), day(4));
        assert_eq!(GuardRails::window_start(day(10), Some(day(8))), day(8));
        assert_eq!(GuardRails::window_start(day(10), Some(day(1))), day(4));
    }

    #[test]
    fn a_send_limit_lifts_at_the_next_utc_midnight_and_the_rates_by_someone() {
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        let rails = GuardRails::default();
        assert_eq!(
            rails.lift(SuspensionReason::SendLimit, late),
            Lift::NextUtcDay(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            rails.lift(SuspensionReason::BounceRate, late),
            Lift::Administrator
        );
        let self_resume = GuardRails {
            self_resume: true,
            ..rails
        };
        assert_eq!(
            self_resume.lift(SuspensionReason::ComplaintRate, late),
            Lift::OwnerAfterRotation
        );
        for reason in SuspensionReason::ALL {
            assert_eq!(SuspensionReason::parse(reason.as_str()), Some(reason));
        }
    }
}
