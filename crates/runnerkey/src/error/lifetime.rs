//! What is wrong with a lifetime, a duration or a timeout (data only: the
//! rules are in [`crate::lifetime`]).

use time::OffsetDateTime;

/// The longest timeout accepted: a day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// The shortest timeout or wait (1 ms): a shorter one would round to
/// nothing and read as an unreachable server.
pub(crate) const MIN_TIMEOUT_SECS: f64 = 0.001;

/// A number as a person reads it: `1e300`, not three hundred digits.
fn shown(secs: f64) -> String {
    if secs.is_finite() && secs.abs() < 1e9 {
        secs.to_string()
    } else {
        format!("{secs:e}")
    }
}

/// What is wrong with a lifetime, a duration or a timeout.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LifetimeProblem {
    /// A timeout that is not a sensible number of seconds.
    #[error("{what} {} is not a number of seconds from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}", shown(*.secs))]
    Timeout {
        /// Which timeout.
        what: &'static str,
        /// What was given.
        secs: f64,
    },
    /// Both a number of days and a duration.
    #[error("give a number of days or a duration, not both")]
    DaysAndDuration,
    /// Zero days.
    #[error("a certificate lifetime must be at least one day")]
    ZeroDays,
    /// A zero duration.
    #[error("a certificate lifetime must be longer than zero")]
    Zero,
    /// Ends after 9999-12-31, the last date X.509 can state.
    #[error(
        "a lifetime of {days} days ends after the year 9999, the last date a certificate can hold"
    )]
    PastYear9999 {
        /// The lifetime in days.
        days: u64,
    },
    /// Not a duration.
    #[error("invalid duration {value:?}: use a number with a unit, e.g. 8760h, 90d, 1h30m")]
    Unparsable {
        /// What was given (at most 80 characters of it).
        value: String,
    },
    /// A timeout that is neither a number of seconds nor a duration.
    #[error("{what} {value:?} is not a number of seconds or a duration such as 90s, 5m or 1h30m")]
    UnparsableTimeout {
        /// Which timeout.
        what: &'static str,
        /// What was given (at most 80 characters of it).
        value: String,
    },
    /// A renewal point that is not a fraction of the lifetime.
    #[error("the renewal point {at} is not a fraction of the lifetime between 0 and 1 (e.g. 0.66)")]
    RenewalPoint {
        /// What was given.
        at: f64,
    },
    /// A token lifetime above what runnerkey asks for.
    #[error("a token lifetime of {seconds} s: runnerkey asks for at most {max} s (ten years)")]
    TokenTooLong {
        /// What was asked.
        seconds: u64,
        /// The most runnerkey asks for.
        max: u64,
    },
    /// A token lifetime below what the API server issues.
    #[error(
        "a token lifetime of {seconds} s: the API server issues tokens for at least 10 minutes"
    )]
    TokenTooShort {
        /// What was asked.
        seconds: u64,
    },
    /// A time before 1970 or past what can be represented.
    #[error("the time is out of the range a certificate can state")]
    OutOfRange,
}

/// RFC 3339 text for a time. RFC 3339 has no offsets with seconds
/// (`+00:19:32`) and no years outside 0000–9999: such a time is written in
/// UTC, and a year RFC 3339 cannot write is clamped to its range — always
/// text that reads back.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    let utc = t.checked_to_offset(time::UtcOffset::UTC);
    t.format(&Rfc3339)
        .ok()
        .or_else(|| utc.and_then(|u| u.format(&Rfc3339).ok()))
        .unwrap_or_else(|| {
            let edge = if t.year() < 0 {
                time::macros::datetime!(0000-01-01 0:00 UTC)
            } else {
                time::macros::datetime!(9999-12-31 23:59:59 UTC)
            };
            edge.format(&Rfc3339).unwrap_or_default()
        })
}
