//! The time an invocation has left. Lambda stops a function at its
//! deadline whatever it is doing; work that runs within it (a provider call
//! and its retries) stops early enough to leave room for its undo.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Kept free at the end of an invocation for what follows a provider call:
/// the table write, or the undo of what the call made.
pub const RESERVED_FOR_UNDO: Duration = Duration::from_secs(3);

/// Runs `work` with the invocation's deadline (Lambda's, in milliseconds
/// since the epoch) in force; `None` (a test, a local call) sets none.
pub async fn within<F: Future>(deadline_ms: Option<u64>, work: F) -> F::Output {
    match deadline_ms.and_then(instant_of) {
        Some(deadline) => DEADLINE.scope(deadline, work).await,
        None => work.await,
    }
}

/// The instant of a deadline still ahead. One already past when the
/// invocation starts is no real deadline (`cargo lambda watch` sends a
/// fixed `600000`, ten minutes after 1970): none is set.
fn instant_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = u128::from(deadline_ms)
        .checked_sub(now_ms)
        .filter(|left| *left > 0)?;
    Some(Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX)))
}

/// How long provider work may still take: the time left less what is kept
/// for the undo. `None` when no deadline is in force.
pub fn for_provider() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(RESERVED_FOR_UNDO)
        })
        .ok()
}

/// `work`, or `timed_out()` once the provider's share of the invocation
/// has run out (so the caller still has time to undo).
pub async fn bounded<T, E, F>(work: F, timed_out: impl FnOnce() -> E) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    match for_provider() {
        None => work.await,
        Some(left) => tokio::time::timeout(left, work)
            .await
            .unwrap_or_else(|_| Err(timed_out())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_from_now(ms: u64) -> u64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        u64::try_from(now.as_millis()).unwrap() + ms
    }

    #[tokio::test]
    async fn the_provider_gets_the_time_left_less_the_undo() {
        assert_eq!(for_provider(), None);
        let left = within(Some(ms_from_now(10_000)), async { for_provider() })
            .await
            .unwrap();
        assert!(
            left <= Duration::from_secs(7) && left > Duration::from_secs(6),
            "{left:?}"
        );
        let none_left = within(Some(ms_from_now(1_000)), async { for_provider() }).await;
        assert_eq!(none_left, Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn a_deadline_past_at_the_start_is_none() {
        // What `cargo lambda watch` sends: 600000 ms after the epoch.
        assert_eq!(within(Some(600_000), async { for_provider() }).await, None);
        assert_eq!(within(None, async { for_provider() }).await, None);
    }

    #[tokio::test]
    async fn bounded_work_stops_when_the_time_is_up() {
        let started = Instant::now();
        let outcome: Result<(), &str> = within(Some(ms_from_now(3_200)), async {
            bounded(
                async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(())
                },
                || "out of time",
            )
            .await
        })
        .await;
        assert_eq!(outcome, Err("out of time"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
