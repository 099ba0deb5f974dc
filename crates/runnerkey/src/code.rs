//! The stable codes of findings (lint, doctor), problems (verify) and
//! checks: one enum, so that a code is typed where it is made and matched,
//! and the documentation is checked against the list, not scraped.

use std::fmt;

use serde::{Serialize, Serializer};

/// A finding, problem or check code. Serialised (and displayed) as its
/// stable kebab-case name, e.g. `tls-unknown-authority`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// `access-review` (see docs/troubleshooting.md).
    AccessReview,
    /// `ambiguous-subject` (see docs/troubleshooting.md).
    AmbiguousSubject,
    /// `anonymous-rejected` (see docs/troubleshooting.md).
    AnonymousRejected,
    /// `api-error` (see docs/troubleshooting.md).
    ApiError,
    /// `api-reachable` (see docs/troubleshooting.md).
    ApiReachable,
    /// `authenticated` (see docs/troubleshooting.md).
    Authenticated,
    /// `bad-host` (see docs/troubleshooting.md).
    BadHost,
    /// `bearer-token-rejected` (see docs/troubleshooting.md).
    BearerTokenRejected,
    /// `bearer-token-expired` (see docs/troubleshooting.md).
    BearerTokenExpired,
    /// `ca-expired` (see docs/troubleshooting.md).
    CaExpired,
    /// `ca-key-on-runner-host` (see docs/troubleshooting.md).
    CaKeyOnRunnerHost,
    /// `ca-serial-file` (see docs/troubleshooting.md).
    CaSerialFile,
    /// `cert-expired` (see docs/troubleshooting.md).
    CertExpired,
    /// `cert-expiring` (see docs/troubleshooting.md).
    CertExpiring,
    /// `cert-not-trusted` (see docs/troubleshooting.md).
    CertNotTrusted,
    /// `cert-not-yet-valid` (see docs/troubleshooting.md).
    CertNotYetValid,
    /// `cert-without-key-or-ca` (see docs/troubleshooting.md).
    CertWithoutKeyOrCa,
    /// `client-cert-is-ca` (see docs/troubleshooting.md).
    ClientCertIsCa,
    /// `client-cert-rejected` (see docs/troubleshooting.md).
    ClientCertRejected,
    /// `client-setup` (see docs/troubleshooting.md).
    ClientSetup,
    /// `config` (see docs/troubleshooting.md).
    Config,
    /// `connection-error` (see docs/troubleshooting.md).
    ConnectionError,
    /// `connection-refused` (see docs/troubleshooting.md).
    ConnectionRefused,
    /// `connection-timeout` (see docs/troubleshooting.md).
    ConnectionTimeout,
    /// `deprecated-key` (see docs/troubleshooting.md).
    DeprecatedKey,
    /// `dns-failure` (see docs/troubleshooting.md).
    DnsFailure,
    /// `empty-namespace` (see docs/troubleshooting.md).
    EmptyNamespace,
    /// `empty-service-account` (see docs/troubleshooting.md).
    EmptyServiceAccount,
    /// `executor-not-kubernetes` (see docs/troubleshooting.md).
    ExecutorNotKubernetes,
    /// `executor-permissions` (see docs/troubleshooting.md).
    ExecutorPermissions,
    /// `expired` (see docs/troubleshooting.md).
    Expired,
    /// `file-invalid` (see docs/troubleshooting.md).
    FileInvalid,
    /// `file-missing` (see docs/troubleshooting.md).
    FileMissing,
    /// `file-unreadable` (see docs/troubleshooting.md).
    FileUnreadable,
    /// `host-without-ca-file` (see docs/troubleshooting.md).
    HostWithoutCaFile,
    /// `host-without-scheme` (see docs/troubleshooting.md).
    HostWithoutScheme,
    /// `identity-differs` (see docs/troubleshooting.md).
    IdentityDiffers,
    /// `insecure-host` (see docs/troubleshooting.md).
    InsecureHost,
    /// `insecure-skip-tls-verify` (see docs/troubleshooting.md).
    InsecureSkipTlsVerify,
    /// `kubeconfig-plugin` (see docs/troubleshooting.md).
    KubeconfigPlugin,
    /// `intermediate-not-ca` (see docs/troubleshooting.md).
    IntermediateNotCa,
    /// `is-ca` (see docs/troubleshooting.md).
    IsCa,
    /// `job-cluster-admin` (see docs/troubleshooting.md).
    JobClusterAdmin,
    /// `job-dangerous-grants` (see docs/troubleshooting.md).
    JobDangerousGrants,
    /// `job-permissions-missing` (see docs/troubleshooting.md).
    JobPermissionsMissing,
    /// `job-permissions-unchecked` (see docs/troubleshooting.md).
    JobPermissionsUnchecked,
    /// `key-file-owner` (see docs/troubleshooting.md).
    KeyFileOwner,
    /// `key-file-permissions` (see docs/troubleshooting.md).
    KeyFilePermissions,
    /// `key-mismatch` (see docs/troubleshooting.md).
    KeyMismatch,
    /// `long-validity` (see docs/troubleshooting.md).
    LongValidity,
    /// `no-client-auth` (see docs/troubleshooting.md).
    NoClientAuth,
    /// `not-tls` (see docs/troubleshooting.md).
    NotTls,
    /// `not-yet-valid` (see docs/troubleshooting.md).
    NotYetValid,
    /// `online-skipped` (see docs/troubleshooting.md).
    OnlineSkipped,
    /// `permission-denied` (see docs/troubleshooting.md).
    PermissionDenied,
    /// `privileges-unchecked` (see docs/troubleshooting.md).
    PrivilegesUnchecked,
    /// `proxy` (see docs/troubleshooting.md).
    Proxy,
    /// `proxy-failed` (see docs/troubleshooting.md).
    ProxyFailed,
    /// `rejected` (see docs/troubleshooting.md).
    Rejected,
    /// `relative-path` (see docs/troubleshooting.md).
    RelativePath,
    /// `removed-key` (see docs/troubleshooting.md).
    RemovedKey,
    /// `response-too-large` (see docs/troubleshooting.md).
    ResponseTooLarge,
    /// `runner-cluster-admin` (see docs/troubleshooting.md).
    RunnerClusterAdmin,
    /// `runner-dangerous-grants` (see docs/troubleshooting.md).
    RunnerDangerousGrants,
    /// `self-subject-review` (see docs/troubleshooting.md).
    SelfSubjectReview,
    /// `system-group` (see docs/troubleshooting.md).
    SystemGroup,
    /// `system-masters` (see docs/troubleshooting.md).
    SystemMasters,
    /// `tls-error` (see docs/troubleshooting.md).
    TlsError,
    /// `tls-name-mismatch` (see docs/troubleshooting.md).
    TlsNameMismatch,
    /// `tls-server-cert-expired` (see docs/troubleshooting.md).
    TlsServerCertExpired,
    /// `tls-server-cert-invalid` (see docs/troubleshooting.md).
    TlsServerCertInvalid,
    /// `tls-server-cert-not-yet-valid` (see docs/troubleshooting.md).
    TlsServerCertNotYetValid,
    /// `tls-unknown-authority` (see docs/troubleshooting.md).
    TlsUnknownAuthority,
    /// `unknown-authority` (see docs/troubleshooting.md).
    UnknownAuthority,
    /// `unknown-key` (see docs/troubleshooting.md).
    UnknownKey,
    /// `unsupported-key` (see docs/troubleshooting.md).
    UnsupportedKey,
    /// `unused-executor-section` (see docs/troubleshooting.md).
    UnusedExecutorSection,
    /// `v1-certificate` (see docs/troubleshooting.md).
    V1Certificate,
    /// `writable-directory` (see docs/troubleshooting.md).
    WritableDirectory,
    /// `wrong-type` (see docs/troubleshooting.md).
    WrongType,
}

impl Code {
    /// Every code.
    pub const ALL: &'static [Code] = &[
        Code::AccessReview,
        Code::AmbiguousSubject,
        Code::AnonymousRejected,
        Code::ApiError,
        Code::ApiReachable,
        Code::Authenticated,
        Code::BadHost,
        Code::BearerTokenExpired,
        Code::BearerTokenRejected,
        Code::CaExpired,
        Code::CaKeyOnRunnerHost,
        Code::CaSerialFile,
        Code::CertExpired,
        Code::CertExpiring,
        Code::CertNotTrusted,
        Code::CertNotYetValid,
        Code::CertWithoutKeyOrCa,
        Code::ClientCertIsCa,
        Code::ClientCertRejected,
        Code::ClientSetup,
        Code::Config,
        Code::ConnectionError,
        Code::ConnectionRefused,
        Code::ConnectionTimeout,
        Code::DeprecatedKey,
        Code::DnsFailure,
        Code::EmptyNamespace,
        Code::EmptyServiceAccount,
        Code::ExecutorNotKubernetes,
        Code::ExecutorPermissions,
        Code::Expired,
        Code::FileInvalid,
        Code::FileMissing,
        Code::FileUnreadable,
        Code::HostWithoutCaFile,
        Code::HostWithoutScheme,
        Code::IdentityDiffers,
        Code::InsecureHost,
        Code::InsecureSkipTlsVerify,
        Code::KubeconfigPlugin,
        Code::IntermediateNotCa,
        Code::IsCa,
        Code::JobClusterAdmin,
        Code::JobDangerousGrants,
        Code::JobPermissionsMissing,
        Code::JobPermissionsUnchecked,
        Code::KeyFileOwner,
        Code::KeyFilePermissions,
        Code::KeyMismatch,
        Code::LongValidity,
        Code::NoClientAuth,
        Code::NotTls,
        Code::NotYetValid,
        Code::OnlineSkipped,
        Code::PermissionDenied,
        Code::PrivilegesUnchecked,
        Code::Proxy,
        Code::ProxyFailed,
        Code::Rejected,
        Code::RelativePath,
        Code::RemovedKey,
        Code::ResponseTooLarge,
        Code::RunnerClusterAdmin,
        Code::RunnerDangerousGrants,
        Code::SelfSubjectReview,
        Code::SystemGroup,
        Code::SystemMasters,
        Code::TlsError,
        Code::TlsNameMismatch,
        Code::TlsServerCertExpired,
        Code::TlsServerCertInvalid,
        Code::TlsServerCertNotYetValid,
        Code::TlsUnknownAuthority,
        Code::UnknownAuthority,
        Code::UnknownKey,
        Code::UnsupportedKey,
        Code::UnusedExecutorSection,
        Code::WritableDirectory,
        Code::WrongType,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Code::AccessReview => "access-review",
            Code::AmbiguousSubject => "ambiguous-subject",
            Code::AnonymousRejected => "anonymous-rejected",
            Code::ApiError => "api-error",
            Code::ApiReachable => "api-reachable",
            Code::Authenticated => "authenticated",
            Code::BadHost => "bad-host",
            Code::BearerTokenExpired => "bearer-token-expired",
            Code::BearerTokenRejected => "bearer-token-rejected",
            Code::CaExpired => "ca-expired",
            Code::CaKeyOnRunnerHost => "ca-key-on-runner-host",
            Code::CaSerialFile => "ca-serial-file",
            Code::CertExpired => "cert-expired",
            Code::CertExpiring => "cert-expiring",
            Code::CertNotTrusted => "cert-not-trusted",
            Code::CertNotYetValid => "cert-not-yet-valid",
            Code::CertWithoutKeyOrCa => "cert-without-key-or-ca",
            Code::ClientCertIsCa => "client-cert-is-ca",
            Code::ClientCertRejected => "client-cert-rejected",
            Code::ClientSetup => "client-setup",
            Code::Config => "config",
            Code::ConnectionError => "connection-error",
            Code::ConnectionRefused => "connection-refused",
            Code::ConnectionTimeout => "connection-timeout",
            Code::DeprecatedKey => "deprecated-key",
            Code::DnsFailure => "dns-failure",
            Code::EmptyNamespace => "empty-namespace",
            Code::EmptyServiceAccount => "empty-service-account",
            Code::ExecutorNotKubernetes => "executor-not-kubernetes",
            Code::ExecutorPermissions => "executor-permissions",
            Code::Expired => "expired",
            Code::FileInvalid => "file-invalid",
            Code::FileMissing => "file-missing",
            Code::FileUnreadable => "file-unreadable",
            Code::HostWithoutCaFile => "host-without-ca-file",
            Code::HostWithoutScheme => "host-without-scheme",
            Code::IdentityDiffers => "identity-differs",
            Code::InsecureHost => "insecure-host",
            Code::InsecureSkipTlsVerify => "insecure-skip-tls-verify",
            Code::KubeconfigPlugin => "kubeconfig-plugin",
            Code::IntermediateNotCa => "intermediate-not-ca",
            Code::IsCa => "is-ca",
            Code::JobClusterAdmin => "job-cluster-admin",
            Code::JobDangerousGrants => "job-dangerous-grants",
            Code::JobPermissionsMissing => "job-permissions-missing",
            Code::JobPermissionsUnchecked => "job-permissions-unchecked",
            Code::KeyFileOwner => "key-file-owner",
            Code::KeyFilePermissions => "key-file-permissions",
            Code::KeyMismatch => "key-mismatch",
            Code::LongValidity => "long-validity",
            Code::NoClientAuth => "no-client-auth",
            Code::NotTls => "not-tls",
            Code::NotYetValid => "not-yet-valid",
            Code::OnlineSkipped => "online-skipped",
            Code::PermissionDenied => "permission-denied",
            Code::PrivilegesUnchecked => "privileges-unchecked",
            Code::Proxy => "proxy",
            Code::ProxyFailed => "proxy-failed",
            Code::Rejected => "rejected",
            Code::RelativePath => "relative-path",
            Code::RemovedKey => "removed-key",
            Code::ResponseTooLarge => "response-too-large",
            Code::RunnerClusterAdmin => "runner-cluster-admin",
            Code::RunnerDangerousGrants => "runner-dangerous-grants",
            Code::SelfSubjectReview => "self-subject-review",
            Code::SystemGroup => "system-group",
            Code::SystemMasters => "system-masters",
            Code::TlsError => "tls-error",
            Code::TlsNameMismatch => "tls-name-mismatch",
            Code::TlsServerCertExpired => "tls-server-cert-expired",
            Code::TlsServerCertInvalid => "tls-server-cert-invalid",
            Code::TlsServerCertNotYetValid => "tls-server-cert-not-yet-valid",
            Code::TlsUnknownAuthority => "tls-unknown-authority",
            Code::UnknownAuthority => "unknown-authority",
            Code::UnknownKey => "unknown-key",
            Code::UnsupportedKey => "unsupported-key",
            Code::UnusedExecutorSection => "unused-executor-section",
            Code::V1Certificate => "v1-certificate",
            Code::WritableDirectory => "writable-directory",
            Code::WrongType => "wrong-type",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code is explained in docs/troubleshooting.md, checked against
    /// this enum.
    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../../docs/troubleshooting.md");
        for code in Code::ALL {
            assert!(
                doc.contains(&format!("`{code}`")),
                "{code} is not in docs/troubleshooting.md"
            );
        }
        assert!(doc.find("`tls-unknown-authority`") < doc.find("`connection-refused`"));
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
