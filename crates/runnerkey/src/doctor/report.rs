//! What doctor found, as data: per runner, what it presents, its
//! certificates, the checks that passed, the permissions, the findings.

use serde::Serialize;
use time::OffsetDateTime;

use super::privilege::{AdminBinding, PrivilegeAudit};
use crate::code::Code;
use crate::rbac::Permission;
use crate::runner_config::lint::Finding;
use crate::severity::Severity;

/// How the runner authenticates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Presented {
    /// A client certificate: the Kubernetes user and groups it carries.
    ClientCertificate {
        /// CN.
        user: String,
        /// Every O.
        groups: Vec<String>,
    },
    /// A client certificate that could not be read.
    UnreadableCertificate,
    /// `bearer_token`.
    BearerToken,
    /// No host: in-cluster service account or kubeconfig.
    InCluster,
    /// A host but no credentials.
    Anonymous,
}

impl std::fmt::Display for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::ClientCertificate { user, groups } if groups.is_empty() => {
                write!(f, "client certificate: user {user:?}, no groups")
            }
            Presented::ClientCertificate { user, groups } => {
                write!(f, "client certificate: user {user:?}, groups {groups:?}")
            }
            Presented::UnreadableCertificate => f.write_str("client certificate (unreadable)"),
            Presented::BearerToken => f.write_str("bearer token"),
            Presented::InCluster => {
                f.write_str("in-cluster service account or kubeconfig (host is empty)")
            }
            Presented::Anonymous => f.write_str("nothing: anonymous"),
        }
    }
}

/// Which of a runner's files a certificate is in: the setting of
/// `[runners.kubernetes]` that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertRole {
    /// `cert_file`: the runner's client certificate (and its chain).
    CertFile,
    /// `ca_file`: the cluster CA the runner trusts.
    CaFile,
}

impl CertRole {
    /// The setting's name: `cert_file` or `ca_file`.
    pub fn as_str(self) -> &'static str {
        match self {
            CertRole::CertFile => "cert_file",
            CertRole::CaFile => "ca_file",
        }
    }
}

crate::named::display_as_str!(CertRole);

/// Validity of one certificate the runner uses.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CertStatus {
    /// Which of the runner's files holds it.
    pub role: CertRole,
    /// The file.
    pub path: String,
    /// Subject.
    pub subject: String,
    /// notAfter (RFC 3339 on the wire).
    #[serde(with = "crate::lifetime::serde_rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left.
    pub days_left: i64,
}

/// A check that passed or failed (the ✓/✗ lines).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// Stable identifier.
    pub code: Code,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub message: String,
}

/// One permission and whether the cluster grants it.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct PermissionCheck {
    /// The permission.
    #[serde(flatten)]
    pub permission: Permission,
    /// Namespace asked about.
    pub namespace: String,
    /// Granted.
    pub allowed: bool,
}

/// The user the API server says we are.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// Username.
    pub username: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// Everything found for one runner.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RunnerDiagnosis {
    /// Name (or `#index`).
    pub runner: String,
    /// Position among `[[runners]]`.
    pub index: usize,
    /// `host`.
    pub host: Option<String>,
    /// What the runner presents.
    pub presents: Presented,
    /// Namespace of the job pods.
    pub job_namespace: String,
    /// Service account of the job pods.
    pub job_service_account: String,
    /// Who `kubectl` inside a job is.
    pub job_identity: String,
    /// Certificates and their validity.
    pub certificates: Vec<CertStatus>,
    /// Whether the online checks ran.
    pub online: bool,
    /// The API server's gitVersion.
    pub server_version: Option<String>,
    /// SelfSubjectReview's answer.
    pub authenticated_as: Option<UserInfo>,
    /// Passed and failed checks, in order.
    pub checks: Vec<Check>,
    /// The executor profile's permissions in the job namespace.
    pub permissions: Vec<PermissionCheck>,
    /// The deployer profile's permissions for the job service account.
    pub deployer_permissions: Vec<PermissionCheck>,
    /// Why the deployer permissions could not be checked, if so.
    pub deployer_note: Option<String>,
    /// The runner identity's over-privilege audit (online).
    pub runner_privileges: Option<PrivilegeAudit>,
    /// The job pods' service account's over-privilege audit (online).
    pub job_privileges: Option<PrivilegeAudit>,
    /// Bindings that give the runner or the job pods cluster-admin.
    pub admin_bindings: Vec<AdminBinding>,
    /// Problems, with fixes.
    pub findings: Vec<Finding>,
}

/// The whole diagnosis.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DoctorReport {
    /// File-wide findings (unknown keys outside runners …).
    pub findings: Vec<Finding>,
    /// One entry per runner checked.
    pub runners: Vec<RunnerDiagnosis>,
}

impl DoctorReport {
    /// Whether any error-level finding was made.
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .chain(self.runners.iter().flat_map(|r| r.findings.iter()))
            .any(|f| f.severity == Severity::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificates_role_and_end_read_as_before() {
        let status = CertStatus {
            role: CertRole::CaFile,
            path: "/etc/ssl/ca.crt".into(),
            subject: "CN=kubernetes".into(),
            not_after: time::macros::datetime!(2035-06-01 12:00:00 UTC),
            days_left: 3000,
        };
        let v = serde_json::to_value(&status).unwrap();
        assert_eq!(v["role"], "ca_file");
        assert_eq!(v["not_after"], "2035-06-01T12:00:00Z");
        assert_eq!(
            serde_json::to_value(CertRole::CertFile).unwrap(),
            "cert_file"
        );
        assert_eq!(format!("{:<9}|", CertRole::CaFile), "ca_file  |");
    }
}
