"""doctor against a local stand-in API server, scenario by scenario, and
cross-checked with the real kubectl (Go's TLS stack, what gitlab-runner
uses): kubectl reaches /version exactly when doctor says the runner can."""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import runnerkey
from cluster import kubectl, make_ca, serving_cert, start_apiserver
from conftest import ok, run


def expired_client_cert(d: Path, ca_crt: Path, ca_key: Path) -> tuple[Path, Path]:
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_priv = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitlab-admin")]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=100)).not_valid_after(now - dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_priv, hashes.SHA256())
    )
    crt, k = d / "expired.crt", d / "expired.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    k.chmod(0o600)
    return crt, k


def rbac_file(d: Path, *args: str, drop: tuple[str, str] | None = None, name: str = "rbac.yaml") -> Path:
    objects = [o for o in yaml.safe_load_all(ok("rbac", *args).out) if o]
    if drop:
        for o in objects:
            if o["kind"] in ("Role", "ClusterRole"):
                for rule in o["rules"]:
                    if drop[0] in rule["resources"]:
                        rule["verbs"] = [v for v in rule["verbs"] if v != drop[1]]
    path = d / name
    path.write_text(yaml.safe_dump_all(objects))
    return path


@dataclass
class Outcome:
    code: int
    report: dict
    kubectl_ok: bool
    kubectl_err: str
    text: str = ""

    @property
    def runner(self) -> dict:
        return self.report["runners"][0]

    def codes(self) -> set[str]:
        return {f["code"] for f in self.runner["findings"]}

    def reachable(self) -> bool:
        return any(c["code"] == "api-reachable" and c["ok"] for c in self.runner["checks"])


def scenario(d: Path, *, ca_file: str = "cluster", sans: list[str] | None = None, expired_server: bool = False,
             client: str = "good", rbac_drop: tuple[str, str] | None = None, server: str = "tls",
             admin: bool = False) -> Outcome:
    cluster_crt, cluster_key = make_ca(d, "cluster")
    other_crt, other_key = make_ca(d, "other")
    ssl = d / "ssl"
    if client == "other-ca":
        ok("issue", "--ca-cert", other_crt, "--ca-key", other_key, "--user", "gitlab-admin", "--out-dir", ssl)
        cert, key = ssl / "gitlab-admin.crt", ssl / "gitlab-admin.key"
    elif client == "expired":
        ssl.mkdir()
        cert, key = expired_client_cert(ssl, cluster_crt, cluster_key)
    else:
        ok("issue", "--ca-cert", cluster_crt, "--ca-key", cluster_key, "--user", "gitlab-admin",
           "--group", "gitlab-runners", "--out-dir", ssl)
        cert, key = ssl / "gitlab-admin.crt", ssl / "gitlab-admin.key"
    rbac = [rbac_file(d, "--user", "gitlab-admin", "--profile", "executor", "--namespace", "gitlab-runner", drop=rbac_drop),
            rbac_file(d, "--service-account", "gitlab-runner/gitlab-deployer", "--profile", "deployer", name="jobs.yaml"),
            rbac_file(d, "--user", "gitlab-admin", "--profile", "auditor", name="auditor.yaml")]
    if admin:
        rbac.append(rbac_file(d, "--user", "gitlab-admin", "--profile", "cluster-admin", name="admin.yaml"))
    srv = None
    if server == "refused":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            url = f"https://127.0.0.1:{s.getsockname()[1]}"
    else:
        crt, k = serving_cert(d, cluster_crt, cluster_key, sans=sans, expired=expired_server)
        srv = start_apiserver(crt, k, cluster_crt, rbac=rbac, plain=(server == "plain"))
        url = srv.url.replace("http://", "https://")
    trust = d / "trust"
    trust.mkdir()
    for name, src in (("cluster.crt", cluster_crt), ("other.crt", other_crt)):
        (trust / name).write_bytes(src.read_bytes())
    ca = {"cluster": str(trust / "cluster.crt"), "other": str(trust / "other.crt"), "empty": ""}[ca_file]
    cfg = d / "config.toml"
    cfg.write_text('concurrent = 1\n\n[[runners]]\n  name = "k8s"\n  url = "https://gitlab.example.com/"\n'
                   '  token = "glrt-x"\n  executor = "kubernetes"\n'
                   f'  [runners.kubernetes]\n    host = "{url}"\n    cert_file = "{cert}"\n    key_file = "{key}"\n'
                   f'    ca_file = "{ca}"\n    namespace = "gitlab-runner"\n    service_account = "gitlab-deployer"\n')
    try:
        r = run("doctor", "--config", cfg, "--online", "--json", "--timeout", "5")
        assert r.code in (0, 1), r
        kc = d / "kubeconfig"
        ok("kubeconfig", "--server", url, "--ca", ca or cluster_crt, "--cert", cert, "--key", key, "--out", kc, "--force")
        if ca_file == "empty":
            text = yaml.safe_load(kc.read_text())
            del text["clusters"][0]["cluster"]["certificate-authority-data"]
            kc.write_text(yaml.safe_dump(text))
        k = kubectl("--kubeconfig", kc, "get", "--raw", "/version", "--request-timeout", "5s", home=d)
        human = run("doctor", "--config", cfg, "--online", "--timeout", "5")
        assert human.code == r.code
        # The same identity checked through its kubeconfig reaches the same
        # verdict on the connection and on who it is.
        kr = run("doctor", "--kubeconfig", kc, "-n", "gitlab-runner", "--online", "--json", "--timeout", "5")
        by_kc = json.loads(kr.out)["runners"][0]
        by_cfg = json.loads(r.out)["runners"][0]
        reach = [any(c["code"] == "api-reachable" and c["ok"] for c in x["checks"]) for x in (by_kc, by_cfg)]
        assert reach[0] == reach[1], (by_kc["findings"], by_cfg["findings"])
        assert by_kc["authenticated_as"] == by_cfg["authenticated_as"]
        online_codes = {f["code"] for f in by_kc["findings"]} - {"insecure-skip-tls-verify"}
        assert online_codes <= {f["code"] for f in by_cfg["findings"]}, (online_codes, by_cfg["findings"])
        return Outcome(r.code, json.loads(r.out), k.returncode == 0, k.stderr, human.out)
    finally:
        if srv:
            srv.stop()


def test_all_correct(tmp_path: Path) -> None:
    o = scenario(tmp_path)
    assert o.code == 0, o.runner["findings"]
    assert o.reachable() and o.kubectl_ok
    r = o.runner
    assert r["presents"] == {"method": "client_certificate", "user": "gitlab-admin", "groups": ["gitlab-runners"]}
    assert r["authenticated_as"] == {"username": "gitlab-admin", "groups": ["gitlab-runners", "system:authenticated"]}
    assert r["server_version"] == "v1.30.0"
    assert r["job_identity"] == "system:serviceaccount:gitlab-runner:gitlab-deployer"
    assert r["permissions"] and all(p["allowed"] for p in r["permissions"])
    assert {(p["resource"], p["verb"]) for p in r["permissions"]} >= {("pods/exec", "create"), ("pods/attach", "create")}
    # The auditor profile lets it ask about the job pods' account too.
    assert r["deployer_note"] is None and r["deployer_permissions"]
    assert all(p["allowed"] for p in r["deployer_permissions"])
    assert r["job_privileges"] == {"outcome": "checked", "cluster_admin": False, "dangerous_grants": []}


def test_cluster_admin_identity_can_check_the_job_service_account(tmp_path: Path) -> None:
    o = scenario(tmp_path, admin=True)
    # A cluster-admin runner is an error of its own, named with its binding.
    assert o.code == 1 and "runner-cluster-admin" in o.codes()
    finding = next(f for f in o.runner["findings"] if f["code"] == "runner-cluster-admin")
    # The core names the binding; the typed next step carries it, and only
    # the CLI turns it into a kubectl command.
    assert "ClusterRoleBinding gitlab-admin-cluster-admin" in finding["fix"] and "kubectl" not in finding["fix"]
    assert finding["next"] == {"step": "delete-bindings", "bindings": [
        {"kind": "ClusterRoleBinding", "namespace": None, "name": "gitlab-admin-cluster-admin"}]}
    assert "$ kubectl delete clusterrolebinding gitlab-admin-cluster-admin" in o.text
    rows = o.runner["deployer_permissions"]
    assert rows and all(p["allowed"] for p in rows)


@pytest.mark.parametrize("ca_file", ["other", "empty"])
def test_unknown_authority(tmp_path: Path, ca_file: str) -> None:
    o = scenario(tmp_path, ca_file=ca_file)
    assert o.code == 1 and "tls-unknown-authority" in o.codes()
    msg = next(f["message"] for f in o.runner["findings"] if f["code"] == "tls-unknown-authority")
    assert "x509: certificate signed by unknown authority" in msg
    assert "was issued by CN=kubernetes" in msg
    if ca_file == "other":
        assert "ca_file holds CN=kubernetes (SKI" in msg
    else:
        assert "system trust store" in msg
    assert not o.kubectl_ok and "x509: certificate signed by unknown authority" in o.kubectl_err


def test_host_ip_not_in_sans(tmp_path: Path) -> None:
    o = scenario(tmp_path, sans=["DNS:kubernetes", "DNS:kubernetes.default.svc", "IP:10.96.0.1"])
    assert o.code == 1 and "tls-name-mismatch" in o.codes()
    msg = next(f["message"] for f in o.runner["findings"] if f["code"] == "tls-name-mismatch")
    assert "127.0.0.1" in msg and "DNS:kubernetes.default.svc" in msg and "IP:10.96.0.1" in msg
    assert not o.kubectl_ok and "x509" in o.kubectl_err


def test_expired_server_certificate(tmp_path: Path) -> None:
    o = scenario(tmp_path, expired_server=True)
    assert "tls-server-cert-expired" in o.codes() and o.code == 1
    assert not o.kubectl_ok and "expired" in o.kubectl_err


def test_connection_refused(tmp_path: Path) -> None:
    o = scenario(tmp_path, server="refused")
    assert o.codes() >= {"connection-refused"} and o.code == 1 and not o.kubectl_ok


def test_plain_http_on_the_port(tmp_path: Path) -> None:
    o = scenario(tmp_path, server="plain")
    assert "not-tls" in o.codes() and o.code == 1 and not o.kubectl_ok


@pytest.mark.parametrize("client", ["other-ca", "expired"])
def test_client_certificate_rejected(tmp_path: Path, client: str) -> None:
    o = scenario(tmp_path, client=client)
    assert "client-cert-rejected" in o.codes() and o.code == 1
    msg = next(f["message"] for f in o.runner["findings"] if f["code"] == "client-cert-rejected")
    assert "401 Unauthorized" in msg
    if client == "expired":
        assert "cert-expired" in o.codes()
    assert not o.kubectl_ok and "Unauthorized" in o.kubectl_err


def test_rbac_missing_pods_exec(tmp_path: Path) -> None:
    o = scenario(tmp_path, rbac_drop=("pods/exec", "create"))
    assert o.code == 1 and "permission-denied" in o.codes()
    denied = [(p["resource"], p["verb"]) for p in o.runner["permissions"] if not p["allowed"]]
    assert denied == [("pods/exec", "create")]
    assert o.reachable() and o.kubectl_ok


def test_offline_and_bad_input(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\n  name = "k8s"\n  executor = "kubernetes"\n  [runners.kubernetes]\n    host = "https://10.0.0.1:6443"\n')
    r = run("doctor", "--config", cfg, "--json")
    assert r.code == 0
    rep = json.loads(r.out)["runners"][0]
    assert rep["presents"]["method"] == "anonymous" and rep["job_identity"] == "system:serviceaccount:default:default"
    assert {f["code"] for f in rep["findings"]} == {"host-without-ca-file", "empty-namespace", "empty-service-account"}
    cfg.write_text("[[runners]\n")
    r = run("doctor", "--config", cfg)
    assert r.code == 2 and "line 1" in r.err
    cfg.write_text('[[runners]]\n  name = "shell"\n  executor = "shell"\n')
    r = run("doctor", "--config", cfg)
    assert r.code == 2 and "no kubernetes runner" in r.err


@pytest.mark.parametrize("token", ["good", "wrong"])
def test_bearer_token_identity(tmp_path: Path, token: str) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    crt, k = serving_cert(tmp_path, ca_crt, ca_key)
    sa = "system:serviceaccount:gitlab-runner:gitlab-runner"
    rbac = rbac_file(tmp_path, "--service-account", "gitlab-runner/gitlab-runner", "--profile", "executor")
    auditor = rbac_file(tmp_path, "--service-account", "gitlab-runner/gitlab-runner", "--profile", "auditor",
                        name="auditor.yaml")
    srv = start_apiserver(crt, k, ca_crt, rbac=[rbac, auditor],
                          tokens={"s3cr3t-token": f"{sa};system:serviceaccounts,system:serviceaccounts:gitlab-runner"})
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text('[[runners]]\n  name = "k8s"\n  executor = "kubernetes"\n')
        (tmp_path / "token").write_text("s3cr3t-token\n" if token == "good" else "nope\n")
        trusted = tmp_path / "ca.crt"
        trusted.write_bytes(ca_crt.read_bytes())
        ok("runner-config", "set", "--config", cfg, "--runner", "k8s", "--host", srv.url, "--ca-file", trusted,
           "--namespace", "gitlab-runner", "--service-account", "gitlab-deployer", "--bearer-token-file", tmp_path / "token")
        r = run("doctor", "--config", cfg, "--online", "--json")
        assert "s3cr3t" not in r.out
        rep = json.loads(r.out)["runners"][0]
        assert rep["presents"] == {"method": "bearer_token"}
        if token == "good":
            assert r.code == 0, rep["findings"]
            assert rep["authenticated_as"]["username"] == sa
            assert rep["permissions"] and all(p["allowed"] for p in rep["permissions"])
        else:
            assert r.code == 1 and [f["code"] for f in rep["findings"]] == ["bearer-token-rejected"]
    finally:
        srv.stop()


def test_one_tls_handshake_per_online_run(tmp_path: Path) -> None:
    """Every request of a doctor run shares one connection (keep-alive)."""
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin", "--out-dir", tmp_path / "ssl")
    crt, key = serving_cert(tmp_path, ca_crt, ca_key)
    log = tmp_path / "handshakes.log"
    rbac = rbac_file(tmp_path, "--user", "gitlab-admin", "--profile", "executor", "--namespace", "ci")
    srv = start_apiserver(crt, key, ca_crt, rbac=[rbac], extra=["--handshake-log", str(log)])
    try:
        trust = tmp_path / "trust.crt"
        trust.write_bytes(ca_crt.read_bytes())
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[[runners]]\n  name = "k"\n  executor = "kubernetes"\n  [runners.kubernetes]\n'
                       f'    host = "{srv.url}"\n    cert_file = "{tmp_path}/ssl/gitlab-admin.crt"\n'
                       f'    key_file = "{tmp_path}/ssl/gitlab-admin.key"\n    ca_file = "{trust}"\n'
                       '    namespace = "ci"\n    service_account = "deployer"\n')
        r = run("doctor", "--config", cfg, "--online", "--json")
        report = json.loads(r.out)["runners"][0]
        assert report["authenticated_as"]["username"] == "gitlab-admin"
        assert len(report["permissions"]) > 20
        assert log.read_text().splitlines() == ["handshake"]
        # The online report, from the CLI and from Python, has the stub's shape.
        from test_stub_returns import NAMESPACE, conforms
        assert conforms(json.loads(r.out), NAMESPACE["_DoctorReport"])
        online = runnerkey.doctor(cfg, online=True)
        assert online["runners"][0]["runner_privileges"] is not None
        assert conforms(online, NAMESPACE["_DoctorReport"]), online
    finally:
        srv.stop()


def test_doctor_checks_a_kubeconfig_as_kubectl_reads_it(tmp_path: Path) -> None:
    """KUBECONFIG's files merged (first wins), relative paths beside their
    file, the current context or --context; plugins named, not run."""
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin", "--group", "ci",
       "--out-dir", tmp_path / "ssl")
    (tmp_path / "ssl" / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: c\n  cluster: {server: 'https://10.0.0.1:6443', certificate-authority: ca.crt,"
        " insecure-skip-tls-verify: true}\n"
        "users:\n- name: u\n  user: {client-certificate: gitlab-admin.crt, client-key: gitlab-admin.key}\n"
        "- name: eks\n  user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}}\n"
        "contexts:\n- name: runner\n  context: {cluster: c, user: u}\n- name: cloud\n  context: {cluster: c, user: eks}\n"
        "current-context: runner\n")
    (tmp_path / "empty.yaml").write_text("apiVersion: v1\nkind: Config\n")
    env = {"KUBECONFIG": f"{tmp_path / 'empty.yaml'}:{tmp_path / 'missing'}:{tmp_path / 'ssl' / 'kubeconfig'}"}
    r = run("doctor", "--kubeconfig", "--json", cwd=tmp_path / "..", env=env)
    assert r.code == 0, r
    rep = json.loads(r.out)["runners"][0]
    assert rep["runner"] == "context runner"
    assert rep["presents"] == {"method": "client_certificate", "user": "gitlab-admin", "groups": ["ci"]}
    assert [f["code"] for f in rep["findings"]] == ["insecure-skip-tls-verify"]
    plugin = run("doctor", "--kubeconfig", tmp_path / "ssl" / "kubeconfig", "--context", "cloud", "--online")
    assert plugin.code == 1 and "kubeconfig-plugin" in plugin.out and '"aws"' in plugin.out, plugin
    missing = run("doctor", "--kubeconfig", tmp_path / "ssl" / "kubeconfig", "--context", "nope")
    assert missing.code == 2 and 'no context "nope"; it has: runner, cloud' in missing.err
    # kubectl's rules: an empty file is an empty config; duplicate names and
    # an empty tokenFile are errors; a server without a scheme is http to
    # kubectl; a bad namespace is refused.
    (tmp_path / "empty.yaml").write_text("")
    assert run("doctor", "--kubeconfig", "--json", env={"KUBECONFIG": f"{tmp_path / 'empty.yaml'}:{tmp_path / 'ssl' / 'kubeconfig'}"}).code == 0
    dup = tmp_path / "dup.yaml"
    dup.write_text((tmp_path / "ssl" / "kubeconfig").read_text().replace("- name: eks", "- name: u"))
    d = run("doctor", "--kubeconfig", dup)
    assert d.code == 2 and 'two user entries are named "u"' in d.err, d
    noscheme = tmp_path / "ssl" / "noscheme.yaml"
    noscheme.write_text((tmp_path / "ssl" / "kubeconfig").read_text().replace("https://10.0.0.1:6443", "10.0.0.1:6443"))
    n = run("doctor", "--kubeconfig", noscheme, "--json")
    assert n.code == 1 and "host-without-scheme" in n.out
    assert run("doctor", "--kubeconfig", noscheme, "-n", "Bad/NS").code == 2
    py = runnerkey.doctor_kubeconfig(tmp_path / "ssl" / "kubeconfig", context="cloud")
    assert [f["code"] for f in py["runners"][0]["findings"]] == ["insecure-skip-tls-verify", "kubeconfig-plugin"]
