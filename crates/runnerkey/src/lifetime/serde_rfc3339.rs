//! Times on the wire (JSON, YAML, renewal records, the Python dicts) as
//! RFC 3339 text, the same text [`rfc3339`] prints: a report field is an
//! `OffsetDateTime` in Rust and `"2026-11-27T12:00:00Z"` outside it.
//!
//! `#[serde(with = "crate::lifetime::serde_rfc3339")]` on an
//! `OffsetDateTime`, `…::option` on an `Option<OffsetDateTime>`.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::rfc3339;

/// The longest RFC 3339 text read back (a timestamp is about 30 bytes).
const MAX_TEXT: usize = 64;

/// Writes `t` as RFC 3339 text.
pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// Reads RFC 3339 text, refusing anything else (or anything too long).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// RFC 3339 text as a time; the error quotes at most 64 characters.
fn parse(text: &str) -> Result<OffsetDateTime, String> {
    if text.len() <= MAX_TEXT
        && let Ok(t) = OffsetDateTime::parse(text, &Rfc3339)
    {
        return Ok(t);
    }
    let shown: String = text.chars().take(MAX_TEXT).collect();
    Err(format!("{shown:?} is not an RFC 3339 time"))
}

/// The same for an `Option<OffsetDateTime>` (absent or `null` is `None`).
pub(crate) mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes `Some(t)` as RFC 3339 text, `None` as none.
    pub(crate) fn serialize<S: Serializer>(
        t: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Reads RFC 3339 text or none.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_rfc3339_cannot_write_are_written_as_text_that_reads_back() {
        use time::macros::datetime;
        for (t, text) in [
            (
                datetime!(2026-01-01 0:00:00.5 +00:19:32),
                "2025-12-31T23:40:28.5Z",
            ),
            (datetime!(2026-01-01 0:00 -00:00:01), "2026-01-01T00:00:01Z"),
            (datetime!(-0001-01-01 0:00 UTC), "0000-01-01T00:00:00Z"),
            (
                datetime!(9999-12-31 23:59:59 -01:00),
                "9999-12-31T23:59:59-01:00",
            ),
        ] {
            assert_eq!(crate::lifetime::rfc3339(t), text);
            let json = serde_json::to_string(&Times { at: t, until: None }).unwrap();
            assert!(serde_json::from_str::<Times>(&json).is_ok(), "{json}");
        }
    }

    use serde::{Deserialize, Serialize};
    use time::OffsetDateTime;
    use time::macros::datetime;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Times {
        #[serde(with = "super")]
        at: OffsetDateTime,
        #[serde(with = "super::option", default)]
        until: Option<OffsetDateTime>,
    }

    #[test]
    fn times_are_the_rfc3339_text_of_before_and_round_trip() {
        let times = Times {
            at: datetime!(2026-11-27 12:00:00 UTC),
            until: Some(datetime!(2051-01-01 0:00:00.25 UTC)),
        };
        let json = serde_json::to_string(&times).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-11-27T12:00:00Z","until":"2051-01-01T00:00:00.25Z"}"#
        );
        assert_eq!(serde_json::from_str::<Times>(&json).unwrap(), times);
        #[cfg(feature = "kubeconfig")]
        {
            let yaml = serde_norway::to_string(&times).unwrap();
            assert_eq!(
                yaml,
                "at: 2026-11-27T12:00:00Z\nuntil: 2051-01-01T00:00:00.25Z\n"
            );
            assert_eq!(serde_norway::from_str::<Times>(&yaml).unwrap(), times);
        }
    }

    #[test]
    fn none_is_null_or_absent_and_offsets_are_kept() {
        let none = Times {
            at: datetime!(2026-01-01 0:00 +02:00),
            until: None,
        };
        let json = serde_json::to_string(&none).unwrap();
        assert_eq!(json, r#"{"at":"2026-01-01T00:00:00+02:00","until":null}"#);
        assert_eq!(serde_json::from_str::<Times>(&json).unwrap(), none);
        let absent: Times = serde_json::from_str(r#"{"at":"2026-01-01T00:00:00+02:00"}"#).unwrap();
        assert_eq!(absent, none);
    }

    #[test]
    fn what_is_not_a_time_is_refused_by_name() {
        for bad in [
            r#"{"at":"yesterday"}"#,
            r#"{"at":"2026-13-01T00:00:00Z"}"#,
            r#"{"at":7}"#,
            r#"{"at":"2026-01-01T00:00:00Z","until":"soon"}"#,
        ] {
            assert!(serde_json::from_str::<Times>(bad).is_err(), "{bad}");
        }
        let long = format!(r#"{{"at":"{}"}}"#, "9".repeat(10_000));
        let e = serde_json::from_str::<Times>(&long)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not an RFC 3339 time") && e.len() < 200,
            "{e}"
        );
    }
}
