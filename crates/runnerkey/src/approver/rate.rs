//! How often one requester may be approved: a token bucket per requester
//! (`burst` approvals at once, one more every `per / burst`), as
//! client-go's rate limiters count. A runner renews every few weeks; a
//! requester asking more often than that is a loop or an attack, and its
//! requests wait (pending) until the bucket refills.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `burst` approvals per `per`, per requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Approvals a requester may get at once.
    pub burst: u32,
    /// The time in which the bucket refills completely.
    pub per: Duration,
}

impl Default for RateLimit {
    /// 3 approvals per hour per requester.
    fn default() -> Self {
        Self {
            burst: 3,
            per: Duration::from_secs(3600),
        }
    }
}

impl RateLimit {
    /// `burst` approvals per `per`; `burst` at least 1 and `per` not zero.
    pub fn new(burst: u32, per: Duration) -> crate::error::Result<Self> {
        if burst == 0 || per.is_zero() {
            return Err(crate::error::Error::InvalidArgument(format!(
                "the approval rate {burst} per {} allows nothing: give at least 1 per a non-zero time",
                crate::lifetime::Lifetime::from_duration(per)
            )));
        }
        Ok(Self { burst, per })
    }

    /// The time one approval takes to come back; a limit built field by
    /// field is read as [`RateLimit::new`] would refuse it: at least 1 per
    /// at most a year.
    fn interval(&self) -> Duration {
        self.per.min(Duration::from_secs(366 * 86_400)) / self.burst.max(1)
    }
}

/// The buckets, one per requester (forgotten once full again).
#[derive(Debug, Default)]
pub(super) struct Buckets {
    /// Per requester: the time its bucket was last full, shifted by the
    /// approvals taken (a "theoretical arrival time", GCRA).
    next: HashMap<String, Instant>,
}

impl Buckets {
    /// Takes one approval for `requester` at `now`: `Ok` when allowed,
    /// else the time from which one is.
    pub fn take(&mut self, limit: RateLimit, requester: &str, now: Instant) -> Result<(), Instant> {
        let interval = limit.interval();
        let tolerance = interval * limit.burst.saturating_sub(1);
        let tat = self.next.get(requester).copied().unwrap_or(now).max(now);
        let allowed_from = tat.checked_sub(tolerance).unwrap_or(now);
        if now < allowed_from {
            return Err(allowed_from);
        }
        self.next.insert(requester.to_string(), tat + interval);
        // Full buckets are forgotten: the map stays as small as the
        // requesters seen within one period.
        self.next.retain(|_, t| *t > now);
        Ok(())
    }
}

impl std::str::FromStr for RateLimit {
    type Err = crate::error::Error;

    /// `N/DURATION`, e.g. `3/1h`.
    fn from_str(s: &str) -> crate::error::Result<Self> {
        let bad = || {
            crate::error::Error::InvalidArgument(format!(
                "the approval rate {:?} is not N/DURATION (e.g. 3/1h)",
                s.chars().take(40).collect::<String>()
            ))
        };
        let (n, per) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = per
            .trim()
            .parse::<crate::lifetime::Lifetime>()?
            .as_duration();
        Self::new(burst, per)
    }
}

impl Buckets {
    /// Records an approval of `requester` made at `at` (read from the
    /// cluster), whatever the bucket says.
    pub fn seed(&mut self, limit: RateLimit, requester: &str, at: Instant) {
        let tat = self.next.get(requester).copied().unwrap_or(at).max(at);
        self.next
            .insert(requester.to_string(), tat + limit.interval());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval_per_requester() {
        let limit = RateLimit::new(3, Duration::from_secs(3600)).unwrap();
        let mut b = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.take(limit, "a", t0).is_ok());
        }
        let later = b.take(limit, "a", t0).unwrap_err();
        assert_eq!(later, t0 + Duration::from_secs(1200));
        // Another requester has a bucket of its own.
        assert!(b.take(limit, "b", t0).is_ok());
        assert!(b.take(limit, "a", later - Duration::from_secs(1)).is_err());
        assert!(b.take(limit, "a", later).is_ok());
        assert!(b.take(limit, "a", later).is_err());
        // A full hour later the whole burst is back.
        let hour = later + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(b.take(limit, "a", hour).is_ok());
        }
        assert!(b.take(limit, "a", hour).is_err());
    }

    #[test]
    fn approvals_read_from_the_cluster_count() {
        let limit = RateLimit::new(2, Duration::from_secs(3600)).unwrap();
        let mut b = Buckets::default();
        let t0 = Instant::now();
        // Two approvals ten minutes ago (before a restart, or by another
        // approver): the next waits until the first has aged out.
        let before = t0.checked_sub(Duration::from_secs(600)).unwrap();
        b.seed(limit, "a", before);
        b.seed(limit, "a", before);
        assert!(b.take(limit, "a", t0).is_err());
        assert!(b.take(limit, "b", t0).is_ok());
        assert!(
            b.take(limit, "a", before + Duration::from_secs(1800))
                .is_ok()
        );
    }

    #[test]
    fn written_as_n_per_duration() {
        let r: RateLimit = "5/30m".parse().unwrap();
        assert_eq!((r.burst, r.per), (5, Duration::from_secs(1800)));
        for bad in ["5", "x/1h", "0/1h", "3/", "-1/1h"] {
            assert!(
                matches!(
                    bad.parse::<RateLimit>(),
                    Err(crate::Error::InvalidArgument { .. } | crate::Error::Lifetime { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn nothing_allowed_is_refused() {
        assert!(matches!(
            RateLimit::new(0, Duration::from_secs(1)),
            Err(crate::Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            RateLimit::new(1, Duration::ZERO),
            Err(crate::Error::InvalidArgument { .. })
        ));
    }
}
