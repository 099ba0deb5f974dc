//! The Kubernetes identity a client certificate carries: the user name is
//! the subject's CN and the groups are every O, in order.

use std::fmt;

use der::asn1::{Any, Utf8StringRef};
use der::{Tag, Tagged};
use serde::{Deserialize, Serialize};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

pub use crate::error::subject::SubjectProblem;
use crate::error::{Error, Result};
use crate::oid;

/// The group that bypasses all RBAC.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// Groups besides `system:masters` that a client certificate must not get
/// by accident, and why: a runner holding one has far more than its RBAC.
pub const PRIVILEGED_GROUPS: [(&str, &str); 2] = [
    (
        "kubeadm:cluster-admins",
        "kubeadm (1.29 and later) binds it to cluster-admin: it is what admin.conf carries",
    ),
    (
        "system:nodes",
        "the Node authorizer gives its members a kubelet's powers over pods, secrets and nodes",
    ),
];

/// A checked Kubernetes user name and its groups: made only by
/// [`Identity::new`] (or deserialised through it), so every identity a CA
/// signs, a CSR asks for or a pin records has passed its checks.
///
/// No struct literal can skip them:
///
/// ```compile_fail
/// let forged = runnerkey::Identity { user: String::new(), groups: vec![] };
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "IdentityData")]
pub struct Identity {
    /// The user name (certificate CN).
    user: String,
    /// The groups (certificate O values), in order.
    groups: Vec<String>,
}

/// An identity as data, before [`Identity::new`] has checked it.
#[derive(Deserialize)]
struct IdentityData {
    user: String,
    #[serde(default)]
    groups: Vec<String>,
}

impl TryFrom<IdentityData> for Identity {
    type Error = Error;

    fn try_from(d: IdentityData) -> Result<Self> {
        Self::new(d.user, d.groups)
    }
}

/// Checks a name `field` (named in the error) as user and group names are:
/// non-empty, no control, bidirectional-override or invisible characters,
/// no leading or trailing white space.
pub(crate) fn check_name(field: &'static str, value: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        field,
        value: value.chars().take(80).collect(),
        reason: reason.to_string(),
    };
    if value.is_empty() {
        return Err(bad("must not be empty"));
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(bad(&format!(
            "is {} bytes long; at most {MAX_NAME_BYTES}",
            value.len()
        )));
    }
    if value.chars().any(is_deceptive) {
        return Err(bad(
            "must not contain control, bidirectional-override or invisible characters",
        ));
    }
    if value.trim() != value {
        return Err(bad("must not start or end with white space"));
    }
    Ok(())
}

/// The longest user or group name an identity may have, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// The most groups one certificate may carry. Kubernetes sets no limit, but
/// every group is an RDN of the subject: 100,000 made a 2.2 MB certificate
/// that openssl refuses to load.
pub const MAX_GROUPS: usize = 256;

impl Identity {
    /// A checked identity: names must be non-empty, at most 1024 bytes
    /// long, free of control, bidirectional-override and invisible
    /// characters, and of leading or trailing white space; at most 256
    /// groups.
    pub fn new(
        user: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self> {
        let user = user.into();
        check_name("user", &user)?;
        let groups: Vec<String> = groups
            .into_iter()
            .take(MAX_GROUPS + 1)
            .map(Into::into)
            .collect();
        if groups.len() > MAX_GROUPS {
            return Err(Error::InvalidName {
                field: "groups",
                value: format!("more than {MAX_GROUPS}"),
                reason: format!("a certificate may carry at most {MAX_GROUPS} groups"),
            });
        }
        for g in &groups {
            check_name("group", g)?;
        }
        Ok(Self { user, groups })
    }

    /// The user name (certificate CN).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The groups (certificate O values), in order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The user name and groups, taken apart.
    pub fn into_parts(self) -> (String, Vec<String>) {
        (self.user, self.groups)
    }

    /// Whether `other` is the same identity to Kubernetes: the same user
    /// and the same set of groups (order and repeats do not count).
    pub fn same_as(&self, other: &Identity) -> bool {
        fn set(i: &Identity) -> std::collections::BTreeSet<&String> {
            i.groups.iter().collect()
        }
        self.user == other.user && set(self) == set(other)
    }

    /// Refuses `system:masters`, and the other groups that give a
    /// certificate cluster-wide power (`system:masters`, `kubeadm:cluster-admins`), unless
    /// `allowed`.
    pub fn check_system_masters(&self, allowed: bool) -> Result<()> {
        if allowed {
            return Ok(());
        }
        for g in &self.groups {
            if g == SYSTEM_MASTERS {
                return Err(Error::SystemMasters);
            }
            if let Some((_, reason)) = PRIVILEGED_GROUPS.iter().find(|(name, _)| name == g) {
                return Err(Error::PrivilegedGroup {
                    group: g.clone(),
                    reason,
                });
            }
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

    /// The identity Go reads from a name (the last CN and every O), when
    /// [`Identity::new`] takes it: a name without a CN, or with a deceptive
    /// or empty value, is no identity.
    pub(crate) fn from_name(name: &Name) -> Result<Self> {
        let reading = SubjectReading::of(name);
        Self::new(reading.user, reading.groups)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_who(f, &self.user, &self.groups)
    }
}

/// `user "U", groups ["G"]`.
fn write_who(f: &mut fmt::Formatter<'_>, user: &str, groups: &[String]) -> fmt::Result {
    write!(f, "user {user:?}")?;
    if !groups.is_empty() {
        write!(f, ", groups {groups:?}")?;
    }
    Ok(())
}

/// Characters that are not seen themselves or change how text around them
/// is shown: Unicode's default-ignorable code points and format characters
/// (bidirectional overrides and isolates, zero-width characters, the soft
/// hyphen, variation selectors, tag characters, fillers), line and
/// paragraph separators, interlinear annotation marks.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `c` may not appear in a user or group name: a control
/// character, or one of [`is_invisible_format`].
pub fn is_deceptive(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// The text of a name attribute value as Go's `crypto/x509` decodes it,
/// or why Go would refuse it (Go then refuses the whole certificate).
fn decode_value(value: &Any) -> std::result::Result<String, &'static str> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| "UTF8String that is not valid UTF-8"),
        Tag::PrintableString => {
            let ok = bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(b));
            if ok {
                Ok(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Err("PrintableString with characters outside its alphabet")
            }
        }
        Tag::Ia5String => {
            if bytes.is_ascii() {
                Ok(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Err("IA5String that is not ASCII")
            }
        }
        Tag::NumericString => {
            if bytes.iter().all(|b| b.is_ascii_digit() || *b == b' ') {
                Ok(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Err("NumericString with characters other than digits and space")
            }
        }
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return Err("BMPString of odd length");
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| "BMPString with unpaired surrogates")
        }
        // Go keeps T61String's bytes as they are.
        Tag::TeletexString => Ok(String::from_utf8_lossy(bytes).into_owned()),
        _ => Err("a string type Go does not read"),
    }
}

/// The text of a name attribute value, for display (lossy when Go would
/// refuse the value).
fn attribute_text(value: &Any) -> String {
    decode_value(value).unwrap_or_else(|_| String::from_utf8_lossy(value.value()).into_owned())
}

/// A subject read the way Go's `pkix.Name` (and so kube-apiserver) reads
/// it: the user is the **last** CN, the groups are every O in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SubjectReading {
    /// The user as the API server reads it: the last CN, empty when there
    /// is none (unchecked: see [`SubjectReading::identity`]).
    pub user: String,
    /// The groups as the API server reads them: every O, in order.
    pub groups: Vec<String>,
    /// Every CN, in encoding order (the last is the user).
    pub common_names: Vec<String>,
    /// Why the subject must not be signed, if it must not.
    pub problems: Vec<SubjectProblem>,
}

impl SubjectReading {
    /// Reads `name`.
    pub(crate) fn of(name: &Name) -> Self {
        let mut common_names = Vec::new();
        let mut groups = Vec::new();
        let mut problems = Vec::new();
        for atv in name.iter() {
            let attribute = oid::name(&atv.oid);
            let text = match decode_value(&atv.value) {
                Ok(t) => {
                    if !matches!(
                        atv.value.tag(),
                        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
                    ) {
                        problems.push(SubjectProblem::StringType {
                            attribute: attribute.clone(),
                            reason: "a string type other than UTF8String, PrintableString or IA5String, which tools display differently",
                        });
                    }
                    t
                }
                Err(reason) => {
                    problems.push(SubjectProblem::StringType {
                        attribute: attribute.clone(),
                        reason,
                    });
                    attribute_text(&atv.value)
                }
            };
            if text.chars().any(is_deceptive) {
                problems.push(SubjectProblem::DeceptiveCharacters {
                    attribute: attribute.clone(),
                    value: text.clone(),
                });
            }
            if atv.oid == oid::COMMON_NAME {
                common_names.push(text);
            } else if atv.oid == oid::ORGANIZATION {
                if text.is_empty() {
                    problems.push(SubjectProblem::EmptyValue { attribute });
                }
                groups.push(text);
            }
        }
        let user = common_names.last().cloned().unwrap_or_default();
        if common_names.len() > 1 {
            problems.insert(
                0,
                SubjectProblem::SeveralCommonNames {
                    names: common_names.clone(),
                },
            );
        } else if user.is_empty() {
            problems.insert(0, SubjectProblem::NoCommonName);
        }
        Self {
            user,
            groups,
            common_names,
            problems,
        }
    }

    /// Refuses a subject with any [`SubjectProblem`] (the first is named).
    pub fn check_signable(&self) -> Result<()> {
        match self.problems.first() {
            Some(p) => Err(Error::AmbiguousSubject(p.clone())),
            None => Ok(()),
        }
    }

    /// The identity to sign for: refuses a subject with any
    /// [`SubjectProblem`] and names that [`Identity::new`] refuses.
    pub fn identity(&self) -> Result<Identity> {
        self.check_signable()?;
        Identity::new(self.user.clone(), self.groups.clone())
    }
}

/// `user "U", groups ["G"]`, as [`Identity`] shows itself, whether or not
/// the reading is a valid identity.
impl fmt::Display for SubjectReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_who(f, &self.user, &self.groups)
    }
}

/// A name as a Kubernetes admin reads it: `CN=gitlab-admin, O=a, O=b`, in
/// the order the attributes are encoded.
/// An attribute value with backslashes doubled and control and invisible
/// formatting characters written as escapes (`\x0a`, `\u{202e}`), so that
/// a name shown anywhere — a message, a terminal, a log — is one line that
/// shows every character it holds.
fn visible(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if (c as u32) < 0x80 && c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else if c.is_control() || is_invisible_format(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn name_to_string(name: &Name) -> String {
    name.iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    format!(
                        "{}={}",
                        oid::name(&atv.oid),
                        visible(&attribute_text(&atv.value))
                    )
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
