//! How long an issued certificate is valid, and X.509 time conversions.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use der::DateTime;
use der::asn1::{GeneralizedTime, UtcTime};
use time::OffsetDateTime;
use x509_cert::time::Time;

use crate::error::{Error, Result};

const DAY: u64 = 86_400;

pub(crate) mod serde_rfc3339;

pub(crate) use crate::error::lifetime::rfc3339;
pub use crate::error::lifetime::{LifetimeProblem, MAX_TIMEOUT_SECS};

/// A timeout or a wait, checked: finite, positive, at most
/// [`MAX_TIMEOUT_SECS`]. The one entry point the CLI, Python and Ansible
/// read durations of waiting through; a refusal names `what` (e.g.
/// "timeout", "wait", "lock timeout").
///
/// ```
/// use runnerkey::Timeout;
/// assert_eq!(Timeout::parse("wait", "5m")?.as_duration().as_secs(), 300);
/// assert_eq!(Timeout::parse("wait", "2.5")?.as_duration().as_millis(), 2500);
/// assert_eq!(Timeout::from_secs_f64("wait", 90.0)?.as_duration().as_secs(), 90);
/// assert!(Timeout::parse("wait", "2d").is_err()); // more than a day
/// # Ok::<(), runnerkey::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout(Duration);

impl Timeout {
    /// A timeout of `secs` seconds for `what`, checked before any
    /// arithmetic: finite, at least a millisecond, at most
    /// [`MAX_TIMEOUT_SECS`].
    pub fn from_secs_f64(what: &'static str, secs: f64) -> Result<Self> {
        // NaN is in no range: refused with the rest.
        if !(crate::error::lifetime::MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&secs) {
            return Err(LifetimeProblem::Timeout { what, secs }.into());
        }
        Ok(Timeout(Duration::from_secs_f64(secs)))
    }

    /// A timeout for `what` given as text, in the one syntax the CLI,
    /// Python and Ansible share: a plain number of seconds (`90`, `2.5`)
    /// or a duration (`90s`, `5m`, `1h30m`: see [`Lifetime`]'s parser),
    /// checked as [`Timeout::from_secs_f64`] checks.
    pub fn parse(what: &'static str, text: &str) -> Result<Self> {
        let text = text.trim();
        let secs = match text.parse::<f64>() {
            Ok(secs) => secs,
            Err(_) => text
                .parse::<Lifetime>()
                .map_err(|_| LifetimeProblem::UnparsableTimeout {
                    what,
                    value: text.chars().take(80).collect(),
                })?
                .as_duration()
                .as_secs_f64(),
        };
        Timeout::from_secs_f64(what, secs)
    }

    /// The duration.
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl From<Timeout> for Duration {
    fn from(t: Timeout) -> Duration {
        t.0
    }
}

/// A certificate lifetime: a number of days, or a duration such as
/// `8760h`, `90d`, `1h30m` (Go-style units s, m, h, d).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime(Duration);

impl Lifetime {
    /// `n` days.
    pub fn days(n: u32) -> Self {
        Lifetime(Duration::from_secs(u64::from(n) * DAY))
    }

    /// From a duration.
    pub fn from_duration(d: Duration) -> Self {
        Lifetime(d)
    }

    /// The lifetime asked for as a number of days or a duration (at most
    /// one of them; the default of 365 days when neither): one rule for the
    /// CLI, Python and Ansible. Zero days is refused.
    pub fn from_days_or_duration(days: Option<u32>, duration: Option<&str>) -> Result<Self> {
        match (days, duration) {
            (Some(_), Some(_)) => Err(LifetimeProblem::DaysAndDuration.into()),
            (Some(0), None) => Err(LifetimeProblem::ZeroDays.into()),
            (Some(d), None) => Ok(Lifetime::days(d)),
            (None, Some(d)) => d.parse(),
            (None, None) => Ok(Lifetime::default()),
        }
    }

    /// The duration.
    pub fn as_duration(&self) -> Duration {
        self.0
    }

    /// When a lifetime starting at `start` ends; refused when that is past
    /// the year 9999, the last instant an X.509 certificate can state.
    pub fn end_from(&self, start: OffsetDateTime) -> Result<OffsetDateTime> {
        if self.0.is_zero() {
            return Err(LifetimeProblem::Zero.into());
        }
        time::Duration::try_from(self.0)
            .ok()
            .and_then(|d| start.checked_add(d))
            .filter(|end| end.year() <= 9999)
            .ok_or_else(|| {
                LifetimeProblem::PastYear9999 {
                    days: self.0.as_secs() / DAY,
                }
                .into()
            })
    }
}

impl Default for Lifetime {
    /// 365 days.
    fn default() -> Self {
        Lifetime::days(crate::defaults::CERT_DAYS)
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s.is_multiple_of(DAY) {
            write!(f, "{} days", s / DAY)
        } else if s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl FromStr for Lifetime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || -> Error {
            LifetimeProblem::Unparsable {
                value: s.chars().take(80).collect(),
            }
            .into()
        };
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => DAY,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            digits.clear();
        }
        if !digits.is_empty() || total == 0 {
            return Err(bad());
        }
        Ok(Lifetime(Duration::from_secs(total)))
    }
}

/// An X.509 time as an `OffsetDateTime`.
pub(crate) fn from_x509(t: &Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An `OffsetDateTime` as an X.509 time: UTCTime before 2050, else
/// GeneralizedTime, as RFC 5280 requires.
pub(crate) fn to_x509(t: OffsetDateTime) -> Result<Time> {
    let secs =
        u64::try_from(t.unix_timestamp()).map_err(|_| Error::from(LifetimeProblem::OutOfRange))?;
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|_| Error::from(LifetimeProblem::OutOfRange))?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(|e| Error::der("time", e))?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// `d`, at most [`MAX_TIMEOUT_SECS`]: what a wait or a timeout taken from a
/// public field (which [`Timeout`] did not check) is capped to before it is
/// added to an instant or multiplied, so that no value a caller sets can
/// overflow that arithmetic.
pub(crate) fn capped(d: Duration) -> Duration {
    d.min(Duration::from_secs(MAX_TIMEOUT_SECS as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_seconds_or_a_duration() {
        let t = |s: &str| Timeout::parse("wait", s).map(|d| d.as_duration().as_secs_f64());
        assert_eq!(t("90").unwrap(), 90.0);
        assert_eq!(t("2.5").unwrap(), 2.5);
        assert_eq!(t("90s").unwrap(), 90.0);
        assert_eq!(t("5m").unwrap(), 300.0);
        assert_eq!(t(" 1h30m ").unwrap(), 5400.0);
        for bad in ["0", "-1", "nan", "inf", "2d", "5 minutes", "", "1e9"] {
            let e = t(bad).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(matches!(
            t("2d"),
            Err(Error::Lifetime(LifetimeProblem::Timeout {
                what: "wait",
                ..
            }))
        ));
        assert!(matches!(
            t("soon"),
            Err(Error::Lifetime(LifetimeProblem::UnparsableTimeout { what: "wait", value }))
                if value == "soon"
        ));
    }

    #[test]
    fn parses_go_style_durations() {
        assert_eq!("8760h".parse::<Lifetime>().unwrap(), Lifetime::days(365));
        assert_eq!(
            "1h30m".parse::<Lifetime>().unwrap().as_duration().as_secs(),
            5400
        );
        assert_eq!("30d".parse::<Lifetime>().unwrap(), Lifetime::days(30));
        for bad in ["", "10", "h", "5y", "-1h", "0h"] {
            assert!(
                matches!(bad.parse::<Lifetime>(), Err(crate::Error::Lifetime { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn lifetimes_end_within_x509s_range_and_after_their_start() {
        let start = time::macros::datetime!(2026-01-01 0:00 UTC);
        assert_eq!(
            Lifetime::days(1).end_from(start).unwrap(),
            time::macros::datetime!(2026-01-02 0:00 UTC)
        );
        assert!(matches!(
            Lifetime::days(0).end_from(start),
            Err(crate::Error::Lifetime { .. })
        ));
        assert!(matches!(
            Lifetime::days(3_000_000).end_from(start),
            Err(crate::Error::Lifetime { .. })
        ));
        assert!(
            Lifetime::from_duration(Duration::from_secs(u64::MAX))
                .end_from(start)
                .is_err()
        );
    }

    #[test]
    fn timeouts_are_finite_positive_and_at_most_a_day() {
        assert_eq!(
            Timeout::from_secs_f64("t", 2.5).unwrap().as_duration(),
            Duration::from_millis(2500)
        );
        for bad in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
            86_401.0,
            1e-10,
            5e-324,
        ] {
            assert!(
                matches!(
                    Timeout::from_secs_f64("t", bad),
                    Err(crate::Error::Lifetime { .. })
                ),
                "{bad}"
            );
        }
        // A timeout that would round to nothing is bad input, not an
        // unreachable server; the message stays short whatever the number.
        assert!(Timeout::parse("wait", "1e-10").is_err());
        assert!(Timeout::from_secs_f64("t", 0.001).is_ok());
        let huge = Timeout::from_secs_f64("t", 1e300).unwrap_err().to_string();
        assert_eq!(
            huge,
            "t 1e300 is not a number of seconds from 0.001 to 86400"
        );
    }

    #[test]
    fn x509_times_round_trip_through_utc_and_generalized_time() {
        for t in [
            time::macros::datetime!(2026-11-27 12:00:00 UTC),
            time::macros::datetime!(2051-01-01 0:00:00 UTC),
        ] {
            assert_eq!(from_x509(&to_x509(t).unwrap()), t);
        }
        assert!(
            rfc3339(time::macros::datetime!(2026-11-27 12:00:00 UTC))
                .starts_with("2026-11-27T12:00:00")
        );
    }
}
