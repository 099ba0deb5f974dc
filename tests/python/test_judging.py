"""runnerkey judges identities as kube-apiserver does (Go crypto/x509 +
RBAC): the blog recipe's v1 certificate, subjects with several CNs,
leaf+intermediate chains, over-privilege, client-go's host and proxy
rules, and lint reporting everything at once. Independent oracles:
openssl, Python `cryptography`, kubectl (Go)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cluster import kubectl, make_ca, serving_cert, start_apiserver
from conftest import ok, openssl, run
from test_doctor import rbac_file

try:
    from cryptography.x509.name import _ASN1Type
except ImportError:  # pragma: no cover
    _ASN1Type = None


def blog_identity(d: Path, ca_crt: Path, ca_key: Path) -> tuple[Path, Path]:
    """Steps 2 and 3 of the blog recipe, exactly (openssl 3)."""
    key, csr, crt = d / "gitlab-admin.key", d / "gitlab-admin.csr", d / "gitlab-admin.crt"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=gitlab-admin")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-CAserial", d / "ca.srl", "-out", crt, "-days", "1000")
    key.chmod(0o600)
    return crt, key


def runner_config(d: Path, url: str, cert: Path, key: Path, ca: Path | str, *, executor: str = "kubernetes",
                  namespace: str = "gitlab-runner", sa: str = "gitlab-deployer") -> Path:
    if isinstance(ca, Path):
        # The runner host holds the CA certificate only, never beside its key.
        trust = d / "trust"
        trust.mkdir(exist_ok=True)
        (trust / "ca.crt").write_bytes(ca.read_bytes())
        ca = trust / "ca.crt"
    cfg = d / "config.toml"
    cfg.write_text('concurrent = 1\n\n[[runners]]\n  name = "k8s"\n  url = "https://gitlab.example.com/"\n'
                   f'  token = "glrt-x"\n  executor = "{executor}"\n'
                   f'  [runners.kubernetes]\n    host = "{url}"\n    cert_file = "{cert}"\n    key_file = "{key}"\n'
                   f'    ca_file = "{ca}"\n    namespace = "{namespace}"\n    service_account = "{sa}"\n')
    return cfg


def least_privilege(d: Path) -> list[Path]:
    return [rbac_file(d, "--user", "gitlab-admin", "--profile", "executor", "--namespace", "gitlab-runner"),
            rbac_file(d, "--service-account", "gitlab-runner/gitlab-deployer", "--profile", "deployer",
                      name="jobs.yaml"),
            # What lets doctor audit the job pods' account once the runner is not cluster-admin.
            rbac_file(d, "--user", "gitlab-admin", "--profile", "auditor", name="auditor.yaml")]


def doctor(cfg: Path, *extra: str, env: dict | None = None) -> tuple[int, dict]:
    r = run("doctor", "--config", cfg, "--online", "--json", "--timeout", "5", *extra, env=env)
    assert r.code in (0, 1), r
    return r.code, json.loads(r.out)


def codes(report: dict) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in report["runners"][0]["findings"]}


# --- the blog's identity ---------------------------------------------------

def test_blog_v1_certificate_is_accepted_with_warnings(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "cluster", "rsa-2048")
    crt, key = blog_identity(tmp_path, ca_crt, ca_key)
    assert x509.load_pem_x509_certificate(crt.read_bytes()).version == x509.Version.v1
    openssl("verify", "-purpose", "sslclient", "-CAfile", ca_crt, crt)  # the oracle accepts it
    r = run("verify", "--cert", crt, "--ca", ca_crt, "--key", key, "--json")
    assert r.code == 0, r
    report = json.loads(r.out)
    got = {p["code"]: p["severity"] for p in report["problems"]}
    assert got == {"v1-certificate": "warning", "long-validity": "warning"}
    assert report["ok"] and report["version"] == 1
    text = run("inspect", crt).out
    assert "CA:               not stated (X.509 v1" in text


def test_blog_identity_authenticates_through_doctor_online(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "cluster", "rsa-2048")
    ssl = tmp_path / "ssl"
    ssl.mkdir()
    crt, key = blog_identity(ssl, ca_crt, ca_key)
    (ssl / "ca.srl").unlink()
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    srv = start_apiserver(srv_crt, srv_key, ca_crt, rbac=least_privilege(tmp_path))
    try:
        cfg = runner_config(tmp_path, srv.url, crt, key, ca_crt)
        code, report = doctor(cfg)
        r = report["runners"][0]
        assert r["authenticated_as"]["username"] == "gitlab-admin", r["findings"]
        assert codes(report).get("v1-certificate") == "warning"
        assert "cert-not-trusted" not in codes(report) and "client-setup" not in codes(report)
        kc = tmp_path / "kubeconfig"
        ok("kubeconfig", "--server", srv.url, "--ca", ca_crt, "--cert", crt, "--key", key, "--out", kc)
        k = kubectl("--kubeconfig", kc, "get", "--raw", "/version", "--request-timeout", "5s", home=tmp_path)
        assert k.returncode == 0, k.stderr
    finally:
        srv.stop()


# --- one rule for "who is this" --------------------------------------------

def csr_with(tmp_path: Path, attributes: list[x509.NameAttribute], name: str) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    path = tmp_path / f"{name}.csr"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path


def hostile_subjects() -> dict[str, list[x509.NameAttribute]]:
    cn = NameOID.COMMON_NAME
    cases = {
        "two-cns": [x509.NameAttribute(cn, "gitlab-admin"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "\x1b[2J\x1b[1;1Hall good"),
                    x509.NameAttribute(cn, "system:kube-controller-manager")],
        "empty-cn": [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "runners")],
        "esc": [x509.NameAttribute(cn, "gitlab\x1b[31madmin")],
        "nul": [x509.NameAttribute(cn, "gitlab\x00admin")],
        "rlo": [x509.NameAttribute(cn, "nimda-baltig\u202e")],
        "soft-hyphen": [x509.NameAttribute(cn, "al\u00adice")],
        "c1-and-mvs": [x509.NameAttribute(cn, "alice"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "a\u180eb\u009b")],
    }
    if _ASN1Type is not None:
        cases["bmp-masters"] = [x509.NameAttribute(cn, "gitlab-admin"),
                                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters",
                                                   _type=_ASN1Type.BMPString)]
    return cases


@pytest.mark.parametrize("case", sorted(hostile_subjects()))
def test_hostile_csr_is_refused_by_every_signing_path(tmp_path: Path, case: str) -> None:
    import runnerkey

    csr = csr_with(tmp_path, hostile_subjects()[case], case)
    parsed = x509.load_pem_x509_csr(csr.read_bytes())
    cns = parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if case == "two-cns":
        assert [a.value for a in cns] == ["gitlab-admin", "system:kube-controller-manager"]
    ca_dir = tmp_path / "ca"
    ok("ca", "init", "--out-dir", ca_dir)
    r = run("csr", "sign", csr, "--ca-dir", ca_dir, "--out", tmp_path / "out.crt")
    assert r.code == 2, r
    assert not (tmp_path / "out.crt").exists()
    assert "\x1b" not in r.err and "\u202e" not in r.err and "\x00" not in r.err
    r = run("k8s-csr", "create", "--csr", csr, "--name", "x")
    assert r.code == 2, r
    ca = runnerkey.CertificateAuthority.load_dir(ca_dir)
    with pytest.raises(runnerkey.RunnerkeyError):
        ca.sign(runnerkey.CertificateRequest.load(csr), allow_system_masters=False)
    # inspect shows it, escaped, and says which CN Kubernetes uses.
    out = run("inspect", csr).out
    assert "\x1b" not in out and "\u202e" not in out
    js = run("inspect", "--json", csr).out
    assert not [c for c in js + out if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f or c in "\u00ad\u180e\u202e"]
    json.loads(js)
    if case == "two-cns":
        assert "the API server uses the last" in out and "system:kube-controller-manager" in out
        assert "\\x1b[2J" in out


def test_two_cn_certificate_is_read_as_go_reads_it(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_priv = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitlab-admin"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "system:kube-controller-manager")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(ca_priv, hashes.SHA256()))
    crt = tmp_path / "two.crt"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    r = run("verify", "--cert", crt, "--ca", ca_crt, "--json")
    assert r.code == 1
    report = json.loads(r.out)
    assert report["identity"]["user"] == "system:kube-controller-manager"
    assert report["common_names"] == ["gitlab-admin", "system:kube-controller-manager"]
    assert "ambiguous-subject" in {p["code"] for p in report["problems"]}


# --- chains -----------------------------------------------------------------

def intermediate_chain(d: Path, root_crt: Path, root_key: Path) -> tuple[Path, Path]:
    """root (runnerkey) → intermediate CA → client leaf (cryptography)."""
    root = x509.load_pem_x509_certificate(root_crt.read_bytes())
    root_priv = serialization.load_pem_private_key(root_key.read_bytes(), None)
    now = dt.datetime.now(dt.timezone.utc)
    ikey = ec.generate_private_key(ec.SECP256R1())
    inter = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "runners-intermediate")]))
             .issuer_name(root.subject).public_key(ikey.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=300))
             .add_extension(x509.BasicConstraints(True, 0), True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(ikey.public_key()), False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_priv.public_key()), False)
             .sign(root_priv, hashes.SHA256()))
    lkey = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitlab-admin")]))
            .issuer_name(inter.subject).public_key(lkey.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(False, None), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), False)
            .sign(ikey, hashes.SHA256()))
    crt, key = d / "chain.crt", d / "chain.key"
    crt.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + inter.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(lkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    key.chmod(0o600)
    return crt, key


def test_leaf_plus_intermediate_authenticates(tmp_path: Path) -> None:
    root_crt, root_key = make_ca(tmp_path, "cluster")
    ssl = tmp_path / "ssl"
    ssl.mkdir()
    crt, key = intermediate_chain(ssl, root_crt, root_key)
    r = run("verify", "--cert", crt, "--ca", root_crt, "--json")
    assert r.code == 0, r
    assert json.loads(r.out)["chain_length"] == 2
    srv_crt, srv_key = serving_cert(tmp_path, root_crt, root_key)
    srv = start_apiserver(srv_crt, srv_key, root_crt, rbac=least_privilege(tmp_path))
    try:
        cfg = runner_config(tmp_path, srv.url, crt, key, root_crt)
        code, report = doctor(cfg)
        assert report["runners"][0]["authenticated_as"]["username"] == "gitlab-admin", codes(report)
        assert code == 0, report["runners"][0]["findings"]
        kc = tmp_path / "kubeconfig"
        ok("kubeconfig", "--server", srv.url, "--ca", root_crt, "--cert", crt, "--key", key, "--out", kc)
        embedded = yaml.safe_load(kc.read_text())["users"][0]["user"]["client-certificate-data"]
        import base64
        assert base64.b64decode(embedded).count(b"BEGIN CERTIFICATE") == 2
        k = kubectl("--kubeconfig", kc, "get", "--raw", "/version", "--request-timeout", "5s", home=tmp_path)
        assert k.returncode == 0, k.stderr
    finally:
        srv.stop()


# --- over-privilege ---------------------------------------------------------

BLOG_BINDINGS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: gitlab-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: gitlab-admin}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: default-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]
"""


def identity_and_server(tmp_path: Path, rbac: list[Path], *server_args: str):
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    ssl = tmp_path / "ssl"
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin", "--out-dir", ssl)
    srv_crt, srv_key = serving_cert(tmp_path, ca_crt, ca_key)
    srv = start_apiserver(srv_crt, srv_key, ca_crt, rbac=rbac, extra=list(server_args))
    return ca_crt, ssl / "gitlab-admin.crt", ssl / "gitlab-admin.key", srv


def test_blog_bindings_are_named_with_the_delete_command(tmp_path: Path) -> None:
    blog = tmp_path / "blog.yaml"
    blog.write_text(BLOG_BINDINGS)
    ca, crt, key, srv = identity_and_server(tmp_path, [blog, *least_privilege(tmp_path)])
    try:
        cfg = runner_config(tmp_path, srv.url, crt, key, ca, namespace="default", sa="default")
        code, report = doctor(cfg)
        assert code == 1
        found = {f["code"]: f for f in report["runners"][0]["findings"]}
        assert found["runner-cluster-admin"]["severity"] == "error"
        assert found["job-cluster-admin"]["severity"] == "error"
        fix = found["runner-cluster-admin"]["fix"]
        # Each finding names its own binding; one command deletes them all.
        assert "ClusterRoleBinding gitlab-admin" in fix, fix
        assert "ClusterRoleBinding default-admin" in found["job-cluster-admin"]["fix"]
        names = {b["name"] for b in found["runner-cluster-admin"]["next"]["bindings"]}
        assert {"gitlab-admin", "default-admin"} <= names
        text = run("doctor", "--config", cfg, "--online")
        assert "kubectl delete clusterrolebinding gitlab-admin default-admin" in text.out, text.out
    finally:
        srv.stop()


def test_the_default_account_is_audited_when_jobs_may_run_as_it(tmp_path: Path) -> None:
    """A least-privilege runner (with the auditor profile) whose jobs may
    choose their service account: the namespace's default account's
    cluster-admin binding is named; with the account fixed, it does not
    affect the jobs."""
    blog = tmp_path / "blog.yaml"
    blog.write_text(BLOG_BINDINGS.split("---\n")[1].replace("namespace: default", "namespace: gitlab-runner"))
    ca, crt, key, srv = identity_and_server(tmp_path, [blog, *least_privilege(tmp_path)])
    try:
        cfg = runner_config(tmp_path, srv.url, crt, key, ca)
        code, report = doctor(cfg)
        assert code == 0, report["runners"][0]["findings"]
        cfg.write_text(cfg.read_text() + '    service_account_overwrite_allowed = ".*"\n')
        code, report = doctor(cfg)
        found = {f["code"]: f for f in report["runners"][0]["findings"]}
        assert code == 1 and "system:serviceaccount:gitlab-runner:default" in found["job-cluster-admin"]["message"]
        assert [b["name"] for b in found["job-cluster-admin"]["next"]["bindings"]] == ["default-admin"]
    finally:
        srv.stop()


def test_least_privilege_profiles_pass_the_audit(tmp_path: Path) -> None:
    ca, crt, key, srv = identity_and_server(tmp_path, least_privilege(tmp_path))
    try:
        code, report = doctor(runner_config(tmp_path, srv.url, crt, key, ca))
        got = codes(report)
        assert "runner-cluster-admin" not in got and "runner-dangerous-grants" not in got
        assert code == 0, report["runners"][0]["findings"]
        passed = {c["code"] for c in report["runners"][0]["checks"] if c["ok"]}
        assert "runner-cluster-admin" in passed
    finally:
        srv.stop()


@pytest.mark.parametrize("status", ["403", "404", "500"])
def test_unanswered_access_reviews_are_could_not_check(tmp_path: Path, status: str) -> None:
    admin = rbac_file(tmp_path, "--user", "gitlab-admin", "--profile", "cluster-admin", name="sar.yaml")
    ca, crt, key, srv = identity_and_server(tmp_path, [*least_privilege(tmp_path), admin], "--sar-status", status)
    try:
        code, report = doctor(runner_config(tmp_path, srv.url, crt, key, ca))
        got = codes(report)
        assert got.get("job-permissions-unchecked") == "warning", got
        assert "job-permissions-missing" not in got and "job-cluster-admin" not in got
        # Unaudited is never passed: an error, exit 1.
        assert got.get("privileges-unchecked") == "error" and code == 1, got
    finally:
        srv.stop()


# --- client-go's rules ------------------------------------------------------

def test_host_path_is_a_prefix_for_every_request(tmp_path: Path) -> None:
    ca, crt, key, srv = identity_and_server(tmp_path, least_privilege(tmp_path), "--prefix", "/k8s/api")
    try:
        code, report = doctor(runner_config(tmp_path, srv.url + "/k8s/api", crt, key, ca))
        assert code == 0, report["runners"][0]["findings"]
        assert report["runners"][0]["authenticated_as"]["username"] == "gitlab-admin"
        code, report = doctor(runner_config(tmp_path, srv.url, crt, key, ca))
        assert code == 1 and "api-error" in codes(report)
        kc = tmp_path / "kubeconfig"
        ok("kubeconfig", "--server", srv.url + "/k8s/api", "--ca", ca, "--cert", crt, "--key", key, "--out", kc)
        # `get --raw` takes an absolute URI; discovery (kubectl version) keeps the prefix, as the runner does.
        k = kubectl("--kubeconfig", kc, "version", "-o", "json", "--request-timeout", "5s", home=tmp_path)
        assert k.returncode == 0, k.stderr
        assert json.loads(k.stdout)["serverVersion"]["gitVersion"] == "v1.30.0"
    finally:
        srv.stop()


def test_loopback_is_never_proxied(tmp_path: Path) -> None:
    ca, crt, key, srv = identity_and_server(tmp_path, least_privilege(tmp_path))
    try:
        env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
        code, report = doctor(runner_config(tmp_path, srv.url, crt, key, ca), env=env)
        assert code == 0, report["runners"][0]["findings"]
        assert not any(c["code"] == "proxy" for c in report["runners"][0]["checks"])
    finally:
        srv.stop()


# --- lint and setup ---------------------------------------------------------

def test_blog_runner_lint_reports_everything_at_once(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "cluster", "rsa-2048")
    crt, key = blog_identity(tmp_path, ca_crt, ca_key)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "blog"\n  url = "https://gitlab.example.com/"\n  token = "x"\n'
                   '  executor = "docker"\n  [runners.kubernetes]\n    host = "1.2.3.4"\n'
                   f'    cert_file = "{crt}"\n    key_file = "{key}"\n')
    r = run("runner-config", "lint", "--config", cfg, "--json")
    assert r.code == 1
    found = {f["code"]: f for f in json.loads(r.out)}
    assert {"executor-not-kubernetes", "cert-without-key-or-ca", "host-without-ca-file",
            "host-without-scheme", "v1-certificate", "long-validity", "ca-serial-file"} <= set(found), found
    assert "key_file" not in found["cert-without-key-or-ca"]["message"].split("but")[1]


def test_lint_fails_on_configs_gitlab_runner_cannot_load(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('concurrent = "four"\n[[runners]]\n  name = "a"\n  executor = "kubernetes"\n'
                   '  [runners.kubernetes]\n    host = "http://10.0.0.1:6443"\n    privileged = "yes"\n')
    r = run("runner-config", "lint", "--config", cfg, "--json")
    assert r.code == 1
    found = [(f["code"], f.get("key")) for f in json.loads(r.out)]
    assert ("wrong-type", "concurrent") in found
    assert ("wrong-type", "runners.kubernetes.privileged") in found
    assert ("insecure-host", "runners.kubernetes.host") in found


def test_duplicate_runner_names_take_the_suggested_flag(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "a"\n  executor = "kubernetes"\n'
                   '[[runners]]\n  name = "a"\n  executor = "kubernetes"\n')
    r = run("doctor", "--config", cfg, "--runner", "a")
    assert r.code == 2 and "index" in r.err
    assert run("doctor", "--config", cfg, "--runner-index", "1").code in (0, 1)
    assert run("runner-config", "lint", "--config", cfg, "--runner-index", "1").code in (0, 1)


def test_risk_audit_offline(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ssl"
    ok("ca", "init", "--out-dir", ca_dir)  # ca.key lands next to ca.crt: the blog's copy
    ok("issue", "--ca-dir", ca_dir, "--user", "gitlab-admin", "--group", "system:masters",
       "--allow-system-masters", "--out-dir", tmp_path / "id")
    key = tmp_path / "id" / "gitlab-admin.key"
    key.chmod(0o644)
    cfg = runner_config(tmp_path, "https://127.0.0.1:6443", tmp_path / "id" / "gitlab-admin.crt", key,
                        str(ca_dir / "ca.crt"))
    r = run("doctor", "--config", cfg, "--json")
    assert r.code == 1
    got = {f["code"]: f["severity"] for f in json.loads(r.out)["runners"][0]["findings"]}
    assert got["ca-key-on-runner-host"] == "error"
    assert got["key-file-permissions"] == "error"
    assert got["system-masters"] == "error"


def test_setup_refuses_a_docker_runner_before_writing(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    ok("ca", "init", "--out-dir", ca_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "d"\n  executor = "docker"\n')
    before = cfg.read_bytes()
    out = tmp_path / "out"
    r = run("setup", "--ca-dir", ca_dir, "--server", "https://10.0.0.1:6443", "--config", cfg,
            "--runner", "d", "--out-dir", out)
    assert r.code == 2 and "docker" in r.err, r
    assert cfg.read_bytes() == before and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca", "config.toml"]


def test_setup_fixes_a_kept_keys_mode(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    ok("ca", "init", "--out-dir", ca_dir)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k"\n  executor = "kubernetes"\n')
    out = tmp_path / "out"
    args = ["setup", "--ca-dir", ca_dir, "--server", "https://10.0.0.1:6443", "--config", cfg,
            "--runner", "k", "--out-dir", out]
    ok(*args)
    key = out / "gitlab-admin.key"
    key.chmod(0o644)
    r = ok(*args)
    assert "mode set to 600" in r.out
    assert key.stat().st_mode & 0o777 == 0o600
