"""runnerkey: give a CI runner outside a Kubernetes cluster an identity in it.

Keys, CSRs and client certificates the API server accepts; gitlab-runner's
config.toml edited byte for byte; least-privilege RBAC; kubeconfigs; the
CertificateSigningRequest API; and a doctor that says why a runner cannot
authenticate. The work is done by the Rust core (`runnerkey._native`).

    >>> import runnerkey
    >>> ca = runnerkey.CertificateAuthority.generate(algorithm="ecdsa-p256")
    >>> key, cert = ca.issue(user="gitlab-admin", groups=["gitlab-runners"])
    >>> cert.user, cert.groups
    ('gitlab-admin', ['gitlab-runners'])
    >>> runnerkey.verify(ca.certificate, cert, key).ok
    True
"""

from runnerkey._native import (
    BadPassphraseError,
    CaNotValidError,
    Certificate,
    CertificateAuthority,
    CertificateRequest,
    ConcurrentModificationError,
    ConfigLockedError,
    ConfigParseError,
    CryptoError,
    CsrNotIssuedError,
    DuplicateRunnerError,
    InvalidArgumentError,
    InvalidNameError,
    KeyMismatchError,
    Kubeconfig,
    Manifests,
    NotACaError,
    OutputExistsError,
    PassphraseRequiredError,
    PemError,
    PrivateKey,
    PrivateKeyError,
    RunnerConfig,
    RunnerkeyError,
    RunnerkeyFileNotFoundError,
    RunnerkeyIOError,
    RunnerkeyPermissionError,
    RunnerNotFoundError,
    SignatureError,
    SystemMastersError,
    VerifyReport,
    WeakKeyError,
    __version__,
    doctor,
    doctor_kubeconfig,
    status,
    status_prometheus,
    inspect,
    k8s_csr,
    k8s_csr_certificate,
    kubeconfig,
    rbac,
    setup,
    verify,
)

__all__ = [
    "BadPassphraseError",
    "CaNotValidError",
    "Certificate",
    "CertificateAuthority",
    "CertificateRequest",
    "ConcurrentModificationError",
    "ConfigLockedError",
    "ConfigParseError",
    "CryptoError",
    "CsrNotIssuedError",
    "DuplicateRunnerError",
    "InvalidArgumentError",
    "InvalidNameError",
    "KeyMismatchError",
    "Kubeconfig",
    "Manifests",
    "NotACaError",
    "OutputExistsError",
    "PassphraseRequiredError",
    "PemError",
    "PrivateKey",
    "PrivateKeyError",
    "RunnerConfig",
    "RunnerNotFoundError",
    "RunnerkeyError",
    "RunnerkeyFileNotFoundError",
    "RunnerkeyIOError",
    "RunnerkeyPermissionError",
    "SignatureError",
    "SystemMastersError",
    "VerifyReport",
    "WeakKeyError",
    "__version__",
    "doctor",
    "doctor_kubeconfig",
    "status",
    "status_prometheus",
    "inspect",
    "k8s_csr",
    "k8s_csr_certificate",
    "kubeconfig",
    "rbac",
    "setup",
    "verify",
]
