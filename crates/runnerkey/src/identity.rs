//! The Kubernetes identity a client certificate carries: the user name is
//! the subject's CN and the groups are every O, in order.

use std::fmt;

use der::asn1::{Any, Utf8StringRef};
use der::{Tag, Tagged};
use serde::Serialize;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::error::{Error, Result};
use crate::oid;

/// The group that bypasses all RBAC.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// A Kubernetes user name and its groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The user name (certificate CN).
    pub user: String,
    /// The groups (certificate O values), in order.
    pub groups: Vec<String>,
}

fn check(field: &'static str, value: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        field,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if value.is_empty() {
        return Err(bad("must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    if value.trim() != value {
        return Err(bad("must not start or end with white space"));
    }
    Ok(())
}

impl Identity {
    /// A checked identity: names must be non-empty, free of control
    /// characters and of leading or trailing white space.
    pub fn new(
        user: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self> {
        let user = user.into();
        check("user", &user)?;
        let groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        for g in &groups {
            check("group", g)?;
        }
        Ok(Self { user, groups })
    }

    /// Refuses `system:masters` unless `allowed`.
    pub fn check_system_masters(&self, allowed: bool) -> Result<()> {
        if !allowed && self.groups.iter().any(|g| g == SYSTEM_MASTERS) {
            return Err(Error::SystemMasters);
        }
        Ok(())
    }

    /// The X.509 name: CN first, then one O per group, each in its own RDN.
    pub(crate) fn to_name(&self) -> Result<Name> {
        let mut seq = RdnSequence::default();
        let attrs = std::iter::once((oid::COMMON_NAME, &self.user))
            .chain(self.groups.iter().map(|g| (oid::ORGANIZATION, g)));
        for (oid, value) in attrs {
            let utf8 = Utf8StringRef::new(value).map_err(|e| Error::der("name", e))?;
            let atv = AttributeTypeAndValue {
                oid,
                value: Any::encode_from(&utf8).map_err(|e| Error::der("name", e))?,
            };
            let rdn = RelativeDistinguishedName::try_from(vec![atv])
                .map_err(|e| Error::der("name", e))?;
            seq.push(rdn);
        }
        Ok(Name::hazmat_from_rdn_sequence(seq))
    }

    /// Reads CN and every O from a name (an empty user when there is no CN).
    pub(crate) fn from_name(name: &Name) -> Self {
        let mut user = None;
        let mut groups = Vec::new();
        for atv in name.iter() {
            if atv.oid == oid::COMMON_NAME && user.is_none() {
                user = Some(attribute_text(&atv.value));
            } else if atv.oid == oid::ORGANIZATION {
                groups.push(attribute_text(&atv.value));
            }
        }
        Self {
            user: user.unwrap_or_default(),
            groups,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {:?}", self.user)?;
        if !self.groups.is_empty() {
            write!(f, ", groups {:?}", self.groups)?;
        }
        Ok(())
    }
}

/// The text of a name attribute value.
fn attribute_text(value: &Any) -> String {
    match value.tag() {
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value.value()).into_owned(),
    }
}

/// A name as a Kubernetes admin reads it: `CN=gitlab-admin, O=a, O=b`, in
/// the order the attributes are encoded.
pub(crate) fn name_to_string(name: &Name) -> String {
    name.iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| format!("{}={}", oid::name(&atv.oid), attribute_text(&atv.value)))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
