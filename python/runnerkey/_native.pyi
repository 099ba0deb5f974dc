"""Typed interface of runnerkey's native core (hand-written; these
docstrings are the Python reference)."""

import datetime
import os
import pathlib
from typing import Any, Literal, Mapping, Optional, Sequence, TypedDict, Union, final


__version__: str

DEFAULTS: dict[str, str]
"""The library's defaults as text, the values every signature here (and the CLI's flags, and the
Ansible modules) default to: ``user`` "gitlab-admin", ``out_dir`` "/etc/ssl/kubernetes",
``namespace`` "gitlab-runner", ``job_service_account`` "gitlab-deployer", ``algorithm``
"ecdsa-p256", ``days`` "365", ``renew_before`` "30d", ``token_duration`` "24h", ``wait`` "5m",
``online_timeout`` "10s", ``request_timeout`` "30s"."""

_Path = Union[str, "os.PathLike[str]"]
_Data = Union[str, bytes]

class _BatchEntryResult(TypedDict):
    """One entry of :meth:`CertificateAuthority.issue_many`."""

    line: int
    user: str
    groups: list[str]
    key_file: str
    cert_file: str
    ca_file: str
    not_after: Optional[str]
    kept: bool
    error: Optional[str]

class _BatchReport(TypedDict):
    """What :meth:`CertificateAuthority.issue_many` did."""

    issued: int
    kept: int
    failed: int
    results: list[_BatchEntryResult]
    warnings: list[str]

class _FileAction(TypedDict):
    """What happened (or would happen) to one file."""

    path: str
    action: str
    mode: str
    purpose: str

class _EnsureReport(TypedDict):
    """What :meth:`CertificateAuthority.ensure` did (or would do)."""

    changed: bool
    dry_run: bool
    files: list[_FileAction]
    issued: bool
    subject: str
    not_after: str
    note: str
    warnings: list[str]

class _InstallReport(TypedDict):
    """What :func:`install_credentials` did (or would do)."""

    changed: bool
    dry_run: bool
    action: Literal["installed", "ca-updated", "kept", "unchanged"]
    note: str
    subject: str
    not_after: str
    files: list[str]

_Severity = Literal["error", "warning", "info"]

class _Finding(TypedDict):
    """A lint or doctor finding: ``code`` is one of docs/troubleshooting.md's
    codes; ``next`` a structured next step (a dict with ``step``)."""

    code: str
    severity: _Severity
    runner: Optional[str]
    key: Optional[str]
    line: Optional[int]
    message: str
    fix: str
    next: Optional[dict[str, Any]]

class _CertStatus(TypedDict):
    """A certificate a runner names (``role``: cert_file or ca_file)."""

    role: str
    path: str
    subject: str
    not_after: str
    days_left: int

class _Check(TypedDict):
    """One check doctor made."""

    code: str
    ok: bool
    message: str

class _PermissionCheck(TypedDict):
    """One permission asked of the API server."""

    api_group: str
    resource: str
    verb: str
    namespace: str
    allowed: bool

class _UserInfo(TypedDict):
    """Who the API server says the runner is."""

    username: str
    groups: list[str]

class _AdminBinding(TypedDict):
    """A binding to cluster-admin (``namespace`` is None for a ClusterRoleBinding)."""

    kind: str
    namespace: Optional[str]
    name: str

class _PrivilegesChecked(TypedDict):
    """The over-privilege audit's answer."""

    outcome: Literal["checked"]
    cluster_admin: bool
    dangerous_grants: list[str]

class _PrivilegesUnchecked(TypedDict):
    """The API server did not answer: nothing is known, nothing denied."""

    outcome: Literal["could-not-check"]
    reason: str
    forbidden: bool

class _PresentedCertificate(TypedDict):
    """The runner presents a client certificate."""

    method: Literal["client_certificate"]
    user: str
    groups: list[str]

class _PresentedOther(TypedDict):
    """The runner presents something else."""

    method: Literal["unreadable_certificate", "bearer_token", "in_cluster", "anonymous"]

class _RunnerDiagnosis(TypedDict):
    """What doctor found for one runner."""

    runner: str
    index: int
    host: Optional[str]
    presents: Union[_PresentedCertificate, _PresentedOther]
    job_namespace: str
    job_service_account: str
    job_identity: str
    certificates: list[_CertStatus]
    online: bool
    server_version: Optional[str]
    authenticated_as: Optional[_UserInfo]
    checks: list[_Check]
    permissions: list[_PermissionCheck]
    deployer_permissions: list[_PermissionCheck]
    deployer_note: Optional[str]
    runner_privileges: Union[_PrivilegesChecked, _PrivilegesUnchecked, None]
    job_privileges: Union[_PrivilegesChecked, _PrivilegesUnchecked, None]
    admin_bindings: list[_AdminBinding]
    findings: list[_Finding]

class _DoctorReport(TypedDict):
    """What :func:`doctor` found: file-wide findings and one entry per runner."""

    findings: list[_Finding]
    runners: list[_RunnerDiagnosis]

class _SetupReport(TypedDict):
    """What :func:`setup` did (or, in a dry run, would do). ``certificate`` is the credential's
    subject and end (the service account's, with ``credential == "bearer-token"``)."""

    changed: bool
    dry_run: bool
    files: list[_FileAction]
    credential: Literal["client-certificate", "bearer-token"]
    certificate: str
    certificate_note: str
    config: str
    config_diff: str
    config_backup: Optional[str]
    doctor: Optional[_DoctorReport]
    next_steps: list[dict[str, Any]]
    warnings: list[str]
    key_replaced: Optional[str]

class _SavedConfig(TypedDict):
    """Where :meth:`RunnerConfig.save` wrote (and its backup, if any)."""

    path: str
    backup: Optional[str]

class _Identity(TypedDict):
    user: str
    groups: list[str]

class _Problem(TypedDict):
    """One problem :func:`verify` found."""

    code: str
    severity: _Severity
    message: str

class _VerifyData(TypedDict):
    """:meth:`VerifyReport.to_dict`."""

    ok: bool
    subject: str
    identity: _Identity
    common_names: list[str]
    version: int
    issuer: str
    chain_length: int
    not_after: str
    days_left: int
    signed_by: Optional[str]
    key_matches: Optional[bool]
    problems: list[_Problem]

class _RenewalRecord(TypedDict):
    """A runner's last renewal attempt, as :func:`renew` recorded it."""

    at: str
    ok: bool
    message: str
    failures_total: int
    last_success: Optional[str]

class _ByName(TypedDict):
    """A runner selected by its name."""

    name: str

class _ByIndex(TypedDict):
    """A runner without a name, selected by its 0-based position."""

    index: int

class _RunnerStatus(TypedDict):
    """One runner's identity (see :func:`status`)."""

    runner: str
    index: int
    selector: Union[_ByName, _ByIndex]
    credential: Literal["client-certificate", "bearer-token", "in-cluster", "none"]
    user: Optional[str]
    groups: list[str]
    cert_file: Optional[str]
    not_before: Optional[str]
    not_after: Optional[str]
    renew_at: Optional[str]
    seconds_left: Optional[int]
    elapsed: Optional[float]
    renewal_due: bool
    expired: bool
    problem: Optional[str]
    last_renewal: Optional[_RenewalRecord]

class _StatusReport(TypedDict):
    """What :func:`status` found."""

    generated_at: str
    runners: list[_RunnerStatus]

class _OnlineCheck(TypedDict, total=False):
    """What authenticating with the new pair found (``result``: skipped,
    unreachable, authenticated or refused; ``reason`` or ``user``)."""

    result: Literal["skipped", "unreachable", "authenticated", "refused"]
    reason: str
    user: str

class _RenewReport(TypedDict):
    """What :func:`renew` did (``old_not_after``/``new_not_after``: a token's ``exp`` for a token runner)."""

    runner: str
    identity: str
    credential: Literal["client-certificate", "bearer-token", "in-cluster", "none"]
    renewed: bool
    dry_run: bool
    reason: str
    due_at: Optional[str]
    old_not_after: Optional[str]
    new_not_after: Optional[str]
    online: _OnlineCheck
    files: list[str]
    warnings: list[str]
    clamped: bool
    failed: bool
    """The run failed its purpose (the new pair refused online, or cut short by the CA's end):
    decided by the library, as the CLI's exit code."""

class _RenewUnits(TypedDict):
    """The systemd units of :func:`renew_units`: the ``runnerkey-renew@`` template service and
    timer, the instance's drop-in, and gitlab-runner.service's drop-in (``None`` without ``check``)."""

    name: str
    service: str
    timer: str
    instance_dropin: str
    runner_dropin: Optional[str]
    installed: list[str]

class _IssuedToken(TypedDict):
    """A token from :func:`request_token` (``token`` is the secret itself)."""

    token: str
    user: str
    expires_at: str
    lifetime_seconds: int
    clamped: bool
    created_service_account: bool

class RunnerkeyError(Exception):
    """Root of every runnerkey error; ``.path`` names the file at fault, if any."""

    path: Optional[str]

class RunnerkeyIOError(RunnerkeyError, OSError):
    """A file could not be read or written; ``.errno`` and ``.filename`` as OSError has them."""

class RunnerkeyFileNotFoundError(RunnerkeyIOError, FileNotFoundError):
    """A file that does not exist."""

class RunnerkeyPermissionError(RunnerkeyIOError, PermissionError):
    """A file this user may not read or write."""

class PemError(RunnerkeyError, ValueError):
    """Malformed PEM or DER, or not the kind of block expected."""

class PrivateKeyError(RunnerkeyError, ValueError):
    """A private key that cannot be used."""

class PassphraseRequiredError(PrivateKeyError):
    """The key is encrypted and no password was given."""

class BadPassphraseError(PrivateKeyError):
    """The password does not decrypt the key."""

class WeakKeyError(PrivateKeyError):
    """An RSA key below 2048 bits."""

    bits: int

class KeyMismatchError(RunnerkeyError, ValueError):
    """A private key that does not belong to its certificate."""

class NotACaError(RunnerkeyError, ValueError):
    """A certificate used as CA that cannot be one, or whose chain up to its root is incomplete."""

class CaNotValidError(RunnerkeyError, ValueError):
    """A CA certificate that is expired or not yet valid."""

class InvalidNameError(RunnerkeyError, ValueError):
    """A user, group or object name that cannot be used."""

    field: str
    value: str

class PrivilegedGroupError(InvalidNameError):
    """A group that gives cluster-wide power (``kubeadm:cluster-admins``, ...) without
    ``allow_system_masters=True``."""

    group: str

class SystemMastersError(PrivilegedGroupError):
    """The group system:masters without ``allow_system_masters=True``."""

class SignatureError(RunnerkeyError, ValueError):
    """A signature that does not verify."""

class OutputExistsError(RunnerkeyError, FileExistsError):
    """An output file exists and overwriting was not allowed."""

class ConfigParseError(RunnerkeyError, ValueError):
    """A config.toml that does not parse."""

    line: int
    column: int

class RunnerNotFoundError(RunnerkeyError, ValueError):
    """No runner of that name; ``.available`` lists the names there are."""

    name: str
    available: list[str]

class DuplicateRunnerError(RunnerkeyError, ValueError):
    """Several runners share the name; pick one by index."""

    name: str
    indexes: list[int]

class ConfigLockedError(RunnerkeyError, TimeoutError):
    """Another editor holds the config's lock."""

class ConcurrentModificationError(RunnerkeyIOError):
    """The config changed on disk since it was read."""

class CsrNotIssuedError(RunnerkeyError):
    """A CertificateSigningRequest with no certificate (yet); ``.state`` is ``pending``,
    ``approved``, ``denied``, ``failed`` or ``gone``."""

    name: str
    state: str

class ClusterRefusedError(RunnerkeyError):
    """The cluster refused what was asked: the API server answered with an error status
    (``.status``, and ``.reason`` as its Status says), a request was not approved or denied."""

    status: Optional[int]
    reason: Optional[str]

class CsrDeniedError(CsrNotIssuedError, ClusterRefusedError):
    """A CertificateSigningRequest denied, or failed by its signer."""

class RunnerkeyConnectionError(RunnerkeyError, ConnectionError):
    """The API server could not be reached (name, connection, TLS, proxy, an answer that is
    not HTTP); ``.failure`` says what failed (``dns``, ``refused``, ``timeout``, ``not-tls``,
    ``server-certificate``, ``tls``, ``io``, ``proxy``, ``too-large``, ``bad-http``)."""

    server: str
    failure: str

class RunnerkeyTimeoutError(RunnerkeyConnectionError, TimeoutError):
    """The API server did not answer in time."""

class InvalidArgumentError(RunnerkeyError, ValueError):
    """An argument out of range or inconsistent."""

class CryptoError(RunnerkeyError):
    """The crypto backend failed."""

class UntrustedError(RunnerkeyError):
    """A credential or request that is not what was decided or cannot be trusted (the
    identity setup pinned, the approval policy, a certificate the CA did not issue or does
    not accept, what a signer issued, a token the server does not vouch for): refused,
    nothing done."""

def _error_samples() -> list[RunnerkeyError]:
    """One exception of each class (for the tests; not part of the API)."""

@final
class PrivateKey:
    """A private key. ``repr()`` never shows key material."""

    @staticmethod
    def generate(algorithm: str = ...) -> PrivateKey:
        """A new key: "ecdsa-p256" (the default), "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096" or
        "ed25519"."""
    @staticmethod
    def from_pem(data: _Data, password: Optional[_Data] = None) -> PrivateKey:
        """A key from PEM: PKCS#1, SEC1, PKCS#8, or encrypted PKCS#8 with ``password``
        (``bytes``, or a ``str`` encoded as UTF-8: pass ``bytes`` for another encoding)."""
    @staticmethod
    def load(path: _Path, password: Optional[_Data] = None) -> PrivateKey:
        """A key from a PEM file."""
    def to_pem(self) -> str:
        """PKCS#8 PEM. Secret: keep it out of logs."""
    def write(self, path: _Path, overwrite: bool = False) -> None:
        """Writes PKCS#8 PEM to a new file created with mode 0600."""
    @property
    def algorithm(self) -> str:
        """"RSA", "ECDSA" or "Ed25519"."""
    @property
    def key_size(self) -> int:
        """Key size in bits."""
    @property
    def public_key_sha256(self) -> str:
        """SHA-256 of the public key (SubjectPublicKeyInfo), hex with colons."""

@final
class CertificateRequest:
    """A PKCS#10 certificate signing request whose self-signature verified."""

    @staticmethod
    def create(key: PrivateKey, *, user: str, groups: Sequence[str] = ..., allow_system_masters: bool = False) -> CertificateRequest:
        """A CSR with CN = ``user`` and one O per group, signed by ``key``."""
    @staticmethod
    def from_pem(data: _Data) -> CertificateRequest:
        """From PEM (e.g. made by ``openssl req``)."""
    @staticmethod
    def load(path: _Path) -> CertificateRequest:
        """From a PEM file."""
    @property
    def user(self) -> str:
        """Requested Kubernetes user (CN)."""
    @property
    def groups(self) -> list[str]:
        """Requested Kubernetes groups (every O, in order)."""
    @property
    def subject(self) -> str:
        """The subject, e.g. ``CN=gitlab-admin, O=a``."""
    def to_pem(self) -> str:
        """PEM."""

@final
class Certificate:
    """An X.509 certificate, read the way a Kubernetes admin thinks of it."""

    @staticmethod
    def from_pem(data: _Data) -> Certificate:
        """The first certificate of PEM text."""
    @staticmethod
    def load(path: _Path) -> Certificate:
        """The first certificate of a PEM file."""
    @property
    def user(self) -> str:
        """Kubernetes user (CN)."""
    @property
    def groups(self) -> list[str]:
        """Kubernetes groups (every O)."""
    @property
    def subject(self) -> str:
        """Subject."""
    @property
    def issuer(self) -> str:
        """Issuer."""
    @property
    def serial(self) -> str:
        """Serial number, lower-case hex."""
    @property
    def not_before(self) -> datetime.datetime:
        """Start of validity (aware, UTC)."""
    @property
    def not_after(self) -> datetime.datetime:
        """End of validity (aware, UTC)."""
    @property
    def days_left(self) -> int:
        """Whole days left (negative once expired)."""
    @property
    def is_ca(self) -> bool:
        """Whether it may act as a CA."""
    @property
    def fingerprint_sha256(self) -> str:
        """SHA-256 of the DER certificate, hex with colons."""
    @property
    def extended_key_usage(self) -> Optional[list[str]]:
        """ExtendedKeyUsage names, None when the extension is absent."""
    def to_pem(self) -> str:
        """PEM."""
    def write(self, path: _Path, overwrite: bool = False) -> None:
        """Writes PEM atomically (mode 0644); refuses to replace a file unless ``overwrite``."""
    def to_der(self) -> bytes:
        """DER."""
    def inspect(self) -> dict[str, Any]:
        """Everything ``runnerkey inspect --json`` says of it."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class CertificateAuthority:
    """A CA certificate with its key: checked to match, to be a CA and to be valid."""

    @staticmethod
    def load(cert_path: _Path, key_path: _Path, password: Optional[_Data] = None) -> CertificateAuthority:
        """``ca.crt`` and ``ca.key`` files."""
    @staticmethod
    def load_dir(path: _Path, password: Optional[_Data] = None) -> CertificateAuthority:
        """A kubeadm pki directory holding ca.crt and ca.key."""
    @staticmethod
    def from_pem(cert: _Data, key: _Data, password: Optional[_Data] = None) -> CertificateAuthority:
        """From PEM text of the certificate and the key."""
    @staticmethod
    def generate(common_name: str = "kubernetes", algorithm: str = "rsa-2048", days: int = 3650) -> CertificateAuthority:
        """A new self-signed CA like kubeadm's (for demos and tests)."""
    @property
    def certificate(self) -> Certificate:
        """The CA certificate."""
    @property
    def warnings(self) -> list[str]:
        """Advice found while loading (e.g. a key file readable by others)."""
    def sign(self, csr: CertificateRequest, *, days: Optional[int] = None, duration: Optional[str] = None, allow_system_masters: bool = False) -> Certificate:
        """A v3 client certificate for the CSR: ``days`` (default 365) or ``duration`` like "8760h", never past the CA."""
    def issue(self, *, user: str, groups: Sequence[str] = ..., algorithm: str = ..., days: Optional[int] = None, duration: Optional[str] = None, allow_system_masters: bool = False) -> tuple[PrivateKey, Certificate]:
        """A new key and a client certificate for ``user`` and ``groups``."""
    def ensure(self, *, cert_path: _Path, key_path: _Path, ca_path: _Path, user: str, groups: Sequence[str] = ..., algorithm: str = ..., days: Optional[int] = None, duration: Optional[str] = None, renew_at: Optional[float] = None, renew_before: Optional[str] = None, force: bool = False, dry_run: bool = False, allow_system_masters: bool = False) -> _EnsureReport:
        """Keep the key and certificate when still good (same identity,
        accepted by this CA, not due for renewal by the policy ``renew``
        uses: after ``renew_at`` of the lifetime, default 2/3, less a
        jitter fixed per certificate, or within ``renew_before`` of the
        end, e.g. "7d"); issue what is missing, wrong or due; copy the CA
        certificate when it differs. An existing key is kept unless
        ``force``. Missing directories are created (the key's 0700); a
        second call changes nothing. ``dry_run`` writes nothing."""
    def issue_many(self, entries: Union[str, Sequence[Mapping[str, Any]]], *, algorithm: str = ..., days: Optional[int] = None, duration: Optional[str] = None, groups: Sequence[str] = ..., user_template: Optional[str] = None, allow_system_masters: bool = False, overwrite: bool = False, keep_valid: bool = False, renew_at: Optional[float] = None, renew_before: Optional[str] = None, threads: int = 0) -> _BatchReport:
        """One new key and certificate per entry (``{"user" or "host", "groups", "out_dir"}`` and
        optional ``name``, ``algorithm``, ``days``; or JSON-lines text). Every entry is checked
        first (a bad one raises, naming its line, before anything is written); then they are
        signed on ``threads`` threads (0: four per core, to overlap signing with disk syncs) with the GIL released, each entry's files
        written all or nothing. An entry given ``host`` gets ``user_template`` with ``{host}``
        replaced; ``groups`` are added to every entry's. With ``keep_valid``, an entry whose key
        and certificate are still good and not due (as ``ensure``: ``renew_at``, ``renew_before``)
        is kept untouched, so a batch run again after an interruption or from a timer issues
        only what is missing, wrong or due. Default file names are the user with ``:`` (and any
        character unsafe in a file name or for scp/rsync) replaced by ``-``."""
    def write_kubeadm(self, directory: _Path, overwrite: bool = False) -> list[pathlib.Path]:
        """Writes ca.crt (0644) and ca.key (0600, PKCS#1/SEC1) into ``directory``."""

@final
class PemBlock:
    """One PEM block as Go's ``encoding/pem`` decodes it (bytes that are not UTF-8 in the type
    and headers are kept as surrogate escapes). Its repr never shows the contents."""
    @property
    def type(self) -> str: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def bytes(self) -> bytes: ...

def pem_decode(data: bytes) -> tuple[Optional[PemBlock], bytes]:
    """The next PEM block in ``data`` and the rest after it, exactly as Go's ``pem.Decode``
    finds them (a BEGIN line only at the start of the data or of a line): ``(None, data)`` when
    there is none."""

@final
class VerifyReport:
    """The outcome of :func:`verify`; true when no problem was found."""

    @property
    def ok(self) -> bool:
        """No problem found."""
    @property
    def problems(self) -> list[tuple[str, str]]:
        """Every problem as (code, message)."""
    def to_dict(self) -> _VerifyData:
        """The whole report."""
    def __bool__(self) -> bool: ...

def verify(ca: Union[Certificate, Sequence[Certificate]], cert: Certificate, key: Optional[PrivateKey] = None) -> VerifyReport:
    """Is ``cert`` accepted for client authentication by ``ca`` now, and does ``key`` match? Every problem is listed."""

def inspect(data: _Data, password: Optional[_Data] = None) -> list[dict[str, Any]]:
    """Describes every certificate, CSR and key in PEM text, or a kubeconfig's users (see docs/inspect.md); no secret is included."""

@final
class RunnerConfig:
    """gitlab-runner's config.toml, edited byte for byte outside the changed values."""

    @staticmethod
    def load(path: _Path) -> RunnerConfig:
        """Reads and parses a file; a syntax error raises ConfigParseError with .line and .column."""
    @staticmethod
    def parse(text: str) -> RunnerConfig:
        """Parses text not tied to a file."""
    def list_runners(self, show_secrets: bool = False) -> list[dict[str, Any]]:
        """The runners: index, name, url, executor, token, kubernetes settings (tokens and URL passwords redacted unless ``show_secrets``)."""
    @property
    def runners(self) -> list[dict[str, Any]]:
        """The runners, tokens redacted."""
    @property
    def text(self) -> str:
        """The current text, with edits."""
    @property
    def changed(self) -> bool:
        """Whether edits changed the text."""
    def set_kubernetes(self, runner: Union[str, int], *, host: Optional[str] = None, cert_file: Optional[_Path] = None, key_file: Optional[_Path] = None, ca_file: Optional[_Path] = None, namespace: Optional[str] = None, service_account: Optional[str] = None, bearer_token: Optional[str] = None, unset: Sequence[str] = ...) -> list[str]:
        """Sets [runners.kubernetes] keys of one runner (by name or index); returns the keys that changed."""
    def diff(self, show_secrets: bool = False) -> str:
        """Unified diff from the loaded text; tokens redacted unless ``show_secrets``."""
    def save(self, backup: bool = True, lock_timeout: float = 10.0) -> Optional[_SavedConfig]:
        """Saves atomically under a lock after a backup; None when unchanged, else {"path", "backup"}."""
    def lint(self, runner: Union[str, int, None] = None) -> list[_Finding]:
        """Findings: code, severity, runner, key, line, message, fix."""

@final
class Manifests:
    """Kubernetes manifests ready for ``kubectl apply -f -``."""

    def to_yaml(self) -> str:
        """Multi-document YAML."""
    def to_json(self) -> str:
        """A JSON ``List``."""
    def to_dict(self) -> list[dict[str, Any]]:
        """The objects."""
    @property
    def warnings(self) -> list[str]:
        """Advice (e.g. the risk of cluster-admin)."""
    def __len__(self) -> int: ...

def rbac(*, user: Optional[str] = None, groups: Sequence[str] = ..., service_account: Optional[str] = None, profile: str = "executor", namespace: Optional[str] = None, with_token_secret: bool = False, features: Optional[Sequence[str]] = None, with_namespaces: bool = True) -> Manifests:
    """RBAC for a user (with its groups), one group alone (a fleet of per-host users), or a service account ("NS/NAME"): profile "executor", "deployer", "renewer", "approver", "auditor" or "cluster-admin"."""

@final
class Kubeconfig:
    """A kubeconfig for the issued identity, usable by kubectl as is."""

    def to_yaml(self) -> str:
        """YAML (holds the key when embedded: keep it secret)."""
    def write(self, path: _Path, overwrite: bool = False) -> None:
        """Writes it with mode 0600."""
    @property
    def current_context(self) -> str:
        """The current context's name."""

def kubeconfig(server: str, ca_file: _Path, cert_file: _Path, key_file: _Path, *, user: Optional[str] = None, cluster: str = "kubernetes", reference_files: bool = False) -> Kubeconfig:
    """A kubeconfig from the three files, embedded or referenced by path."""

def k8s_csr(csr: CertificateRequest, *, name: str, expiration: Optional[str] = None, allow_system_masters: bool = False) -> dict[str, Any]:
    """A certificates.k8s.io/v1 CertificateSigningRequest for signer kubernetes.io/kube-apiserver-client."""

def k8s_csr_certificate(data: _Data, key: PrivateKey) -> Certificate:
    """The certificate from ``kubectl get csr NAME -o json`` (or yaml), checked against ``key``; CsrNotIssuedError while pending, denied or failed."""

def doctor(config: _Path, *, runner: Union[str, int, None] = None, online: bool = False, timeout: Union[float, str] = ...) -> _DoctorReport:
    """Diagnoses the kubernetes runners of a config; ``online`` connects exactly as the runner does."""

def doctor_kubeconfig(kubeconfig: Optional[_Path] = None, *, context: Optional[str] = None, namespace: Optional[str] = None, online: bool = False, timeout: Union[float, str] = ...) -> _DoctorReport:
    """Diagnoses one kubeconfig context (``runnerkey doctor --kubeconfig``): ``kubeconfig``, or
    the files of ``KUBECONFIG`` (else ``~/.kube/config``) merged as kubectl merges them; the
    current context or ``context``; the runner's permissions are checked in ``namespace`` (default:
    the context's, else ``default``). Relative paths are read beside the file that names them;
    exec plugins and auth providers are reported, not run."""

def k8s_csr_submit(csr: CertificateRequest, key: PrivateKey, *, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, name: Optional[str] = None, generate_name: str = "runnerkey-", expiration: Optional[str] = None, approve: bool = False, wait: Union[float, str] = ...) -> Certificate:
    """Has the cluster sign ``csr`` through its CSR API (``runnerkey k8s-csr submit``): creates the
    request for the kube-apiserver-client signer, approves it when ``approve`` (and allowed),
    waits up to ``wait`` (seconds, or a duration like "5m"), and returns the certificate after checking that it belongs to
    ``key``, names exactly the CSR's identity and is accepted by the cluster CA. The object is
    deleted afterwards (left for an approver when still pending)."""

def k8s_csr_approve(name: str, *, expect_user: Optional[str] = None, expect_groups: Sequence[str] = ..., kubeconfig: Optional[_Path] = None, context: Optional[str] = None, deny: bool = False) -> None:
    """Approves the pending CertificateSigningRequest ``name`` only if it asks for exactly
    ``expect_user`` and ``expect_groups`` — without ``expect_user``, exactly the identity of
    whoever submitted it (a renewal of one's own) — the kube-apiserver-client signer and client
    usages. With ``deny``, a request that is not approved is marked Denied with the reason."""

class _ApproverDecision(TypedDict):
    name: str
    requester: str
    outcome: Literal["approved", "approved-elsewhere", "denied", "ignored", "failed"]
    reason: str
    identity: Optional[str]
    detail: Optional[str]

def approver_run_once(*, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, in_cluster: bool = False, deny: bool = False, subresource: str = ..., rate: str = "3/1h", timeout: Union[float, str] = ...) -> list[_ApproverDecision]:
    """Decides every pending kube-apiserver-client request once (``runnerkey approver run
    --once``): approves a renewal of its submitter's own identity when a SubjectAccessReview
    grants the submitter ``create`` on ``certificatesigningrequests/<subresource>``; leaves
    anything else pending (``deny``: denies what the policy refuses), with the reason.
    ``subresource`` defaults to "selfclient", ``timeout`` (each request's) to "30s"."""

def approver_manifests(image: str, *, namespace: str = ..., replicas: int = 1, extra_args: Sequence[str] = ...) -> list[dict[str, Any]]:
    """The manifests that run the approver in the cluster: Namespace, ServiceAccount, the
    ``approver`` ClusterRole and its binding, and the Deployment of ``image``; ``namespace``
    defaults to "runnerkey-system"."""

def approver_unit(program: _Path, kubeconfig: _Path, *, metrics_address: str = ..., extra_args: Sequence[str] = ...) -> str:
    """The text of ``runnerkey-approver.service`` for a control-plane host: ``program``
    ``approver run`` with ``kubeconfig`` passed as a systemd credential, confined;
    ``metrics_address`` defaults to "127.0.0.1:9745"."""

def renew(*, config: _Path, runner: Union[str, int], ca: Optional[CertificateAuthority] = None, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, approve: bool = False, wait: Union[float, str] = ..., renew_at: float = ..., renew_before: Optional[str] = None, force: bool = False, dry_run: bool = False, online: bool = True, timeout: Union[float, str] = ..., expect_service_account: Union[str, tuple[str, str], None] = None, expect_user: Optional[str] = None, expect_groups: Sequence[str] = ...) -> _RenewReport:
    """Renews the runner's client certificate when it is due (``runnerkey renew``): always a new
    key, the same user, groups and lifetime; checked offline against ``ca_file`` and, when the
    API server answers, by authenticating with it (a pair it refuses is not installed:
    ``online["result"] == "refused"``); switched atomically under the stable paths, the previous
    pair kept. config.toml is not touched. With ``kubeconfig`` instead of ``ca``, the cluster signs
    through its CSR API (``approve`` to approve it too; ``wait``: seconds or a duration like "5m", for the certificate).
    A runner with a service account token (``bearer_token``) gets a new token from the
    TokenRequest API with ``kubeconfig``, written to ``bearer_token`` (backed up, locked) — only
    when the cluster the kubeconfig names takes the current token for the account it claims, and
    that account is ``expect_service_account`` (``"NAMESPACE/NAME"`` or (namespace, name), checked
    by the one rule of ``runnerkey rbac --service-account``: a DNS label, a DNS subdomain) when given.
    Every attempt is recorded for :func:`status` (``last_renewal``)."""

def renew_units(*, runner: str, exec: Sequence[str], writable: Sequence[_Path], check: Sequence[str] = ..., install_root: Optional[_Path] = None) -> _RenewUnits:
    """The ``runnerkey-renew@.service`` oneshot template confined to writing ``writable``, its
    timer (every 5 to 15 minutes), the runner's instance drop-in that runs ``exec`` (absolute
    program first, e.g. ``runnerkey renew …``), and, with ``check`` (e.g. ``runnerkey status
    --require-usable …``), a gitlab-runner.service drop-in running it as ``ExecStartPre=``
    (the parts by hand; :func:`systemd_units` decides them from config.toml as ``runnerkey
    systemd`` does); written to ``install_root/etc/systemd/system`` when given."""

def systemd_units(config: _Path, *, runner: Union[str, int], program: _Path, ca_dir: Optional[_Path] = None, ca_cert: Optional[_Path] = None, ca_key: Optional[_Path] = None, ca_passphrase_file: Optional[_Path] = None, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, approve: bool = False, wait: str = "5m", renew_at: Optional[float] = None, renew_before: Optional[str] = None, instance: Optional[str] = None, prometheus: Optional[_Path] = None, install_root: Optional[_Path] = None) -> _RenewUnits:
    """One runner's renewal units decided from config.toml exactly as ``runnerkey systemd``
    decides them: ``program`` (the absolute ``runnerkey`` command) runs ``renew`` for ``runner``
    with the CA (``ca_dir``, or ``ca_cert`` and ``ca_key``) or the cluster (``kubeconfig``), the
    renewal policy when ``renew_at`` or ``renew_before`` is given, confined to config.toml's and
    the credential's directories; gitlab-runner.service's drop-in runs ``status --pre-start``;
    with ``prometheus`` (node_exporter's textfile directory, or a file in it; it must exist) the
    renewal refreshes ``status --prometheus`` after every attempt.
    Written to ``install_root/etc/systemd/system`` when given."""

def request_token(*, namespace: str, service_account: str, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, duration: str = ..., create_service_account: bool = False, timeout: Union[float, str] = ...) -> _IssuedToken:
    """A token for the service account from the cluster's TokenRequest API, with the kubeconfig's
    identity (``kubectl create token``); the API server may shorten ``duration`` (default "24h";
    ``clamped``). The token itself is under ``token``: the one place a token is handed to Python
    without asking for secrets."""

def status(config: _Path, *, runner: Union[str, int, None] = None, renew_at: float = ..., renew_before: Optional[str] = None) -> _StatusReport:
    """Where each kubernetes runner's identity stands (``runnerkey status``): how it
    authenticates, who it is, until when, and whether renewal is due — after ``renew_at``
    (default 2/3) of the lifetime less a per-certificate jitter of up to 5 %, or within
    ``renew_before`` (e.g. "30d") of the end."""

def status_prometheus(config: _Path, *, runner: Union[str, int, None] = None, renew_at: float = ..., renew_before: Optional[str] = None) -> str:
    """:func:`status` as Prometheus text, for node_exporter's textfile collector."""

def install_credentials(dir: _Path, *, key: Union[str, bytes], cert: Union[str, bytes], ca: Union[str, bytes], name: str = "runner", user: Optional[str] = None, groups: Sequence[str] = ..., renew_at: Optional[float] = None, renew_before: Optional[str] = None, dry_run: bool = False) -> _InstallReport:
    """Install a key, certificate and CA certificate made on the control plane into the
    credential directory ``dir`` (``NAME.key`` 0600, ``NAME.crt``, ``ca.crt``) as one unit:
    a new version switched in by one atomic rename. Nothing changes when ``dir`` holds them
    already, or holds a pair of its own (renewed on this host by ``renew``) that belongs
    together, is for ``user`` and ``groups`` (default: the offered certificate's identity),
    is accepted by the offered CA certificate and is not due (``renew_at``,
    ``renew_before``: the policy ``renew`` uses); a different CA certificate is then switched
    in with that pair. The offered pair must itself be valid. ``dry_run`` writes nothing."""

def setup(*, config: _Path, runner: Union[str, int], server: str, ca: Optional[CertificateAuthority] = None, kubeconfig: Optional[_Path] = None, context: Optional[str] = None, approve: bool = False, wait: Union[float, str] = ..., user: str = ..., groups: Sequence[str] = ..., out_dir: _Path = ..., install_dir: Optional[_Path] = None, namespace: str = ..., service_account: str = ..., algorithm: str = ..., days: int = ..., renew_before: str = ..., force: bool = False, keep_key: bool = False, dry_run: bool = False, auth: Literal["certificate", "token"] = "certificate", token_service_account: Optional[str] = None, token_duration: str = ...) -> _SetupReport:
    """The whole procedure, all or nothing and idempotent (see ``runnerkey setup``); the report.
    With ``ca``, signed here; with ``kubeconfig`` instead, through the cluster's CSR API (``approve``
    to approve it too, ``wait``: seconds or a duration like "5m", for the certificate), no CA key anywhere. With
    ``auth="token"`` and ``kubeconfig``, the runner authenticates as ``token_service_account``
    (in ``namespace``, created when missing) with a TokenRequest token of ``token_duration``
    written to ``bearer_token``; ``service_account`` stays the job pods' account. The defaults
    are the library's (:data:`DEFAULTS`): ``user`` "gitlab-admin", ``out_dir``
    "/etc/ssl/kubernetes", ``namespace`` "gitlab-runner", ``service_account`` "gitlab-deployer",
    ``algorithm`` "ecdsa-p256", ``days`` 365, ``renew_before`` "30d", ``token_duration`` "24h",
    ``wait`` "5m". The key of a blog identity (an X.509 v1
    certificate, or one in use longer than ``days``) is replaced by a new one
    (``report["key_replaced"]`` says why) unless ``keep_key``."""

def cli_main(argv: Sequence[str]) -> int:
    """The ``runnerkey`` command line on ``argv`` (program name first), in this process; its exit status."""
