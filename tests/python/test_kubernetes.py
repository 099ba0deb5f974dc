"""RBAC manifests against Kubernetes' JSON schemas, kubeconfigs against the
real kubectl and a local mutual-TLS API server, and the CSR API flow."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cluster import kubectl, make_ca, serving_cert, start_apiserver
from conftest import fixture, ok, run
from schemas import errors

SUBJECTS = [
    ["--user", "gitlab-admin"],
    ["--user", "gitlab-admin", "--group", "gitlab-runners"],
    ["--service-account", "gitlab-runner/gitlab-deployer"],
]
PROFILES = ["executor", "deployer", "cluster-admin"]


def docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("subject", SUBJECTS, ids=["user", "user+group", "serviceaccount"])
def test_every_manifest_validates_against_the_schemas(subject: list[str], profile: str) -> None:
    extra = ["--namespace", "gitlab-runner"] if subject[0] == "--user" and profile != "cluster-admin" else []
    variants = [[]]
    if subject[0] == "--service-account":
        variants.append(["--with-token-secret"])
    if profile == "executor":
        variants.append(["--with", "namespace-per-job", "--with", "autoscaler", "--with", "suspendable-environments",
                         "--with", "pod-disruption-budget", "--with", "print-pod-events"])
    for v in variants:
        r = ok("rbac", *subject, "--profile", profile, *extra, *v)
        objects = docs(r.out)
        assert objects
        as_json = json.loads(ok("rbac", *subject, "--profile", profile, *extra, *v, "-o", "json").out)
        assert as_json["kind"] == "List" and as_json["items"] == objects
        for o in objects:
            assert errors(o) == [], (o, errors(o))
        if profile == "cluster-admin":
            assert "cluster-admin" in r.err and "warning" in r.err
        else:
            assert r.err == ""


def test_a_misspelt_field_fails_validation() -> None:
    objects = docs(ok("rbac", "--user", "u", "--profile", "executor", "--namespace", "ns", "--no-namespaces").out)
    role = copy.deepcopy(objects[0])
    role["rules"][0]["verb"] = role["rules"][0].pop("verbs")
    assert errors(role)
    binding = copy.deepcopy(objects[1])
    binding["metadata"]["namespaces"] = "ns"
    assert errors(binding)


def reference_default_rows() -> set[tuple[str, str, str]]:
    """The reference table's rows needed with gitlab-runner's default settings."""
    defaults = ("always", "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY=false", "print_pod_warning_events=true", "Informers")
    rows = set()
    for line in fixture("reference", "gitlab-runner-executor-rbac.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        group, resource, verb, when = line.split("\t")
        if any(d in when for d in defaults):
            rows.add((group.strip('"'), resource, verb))
    return rows


def rules_as_rows(objects: list[dict]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for o in objects if o["kind"] in ("Role", "ClusterRole")
        for rule in o["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]
    }


def test_executor_profile_equals_the_reference_default_rows() -> None:
    objects = docs(ok("rbac", "--user", "gitlab-admin", "--profile", "executor", "--namespace", "ci").out)
    assert rules_as_rows(objects) == reference_default_rows()
    assert [o["kind"] for o in objects] == ["Namespace", "Role", "RoleBinding"]
    objects = objects[1:]
    assert objects[1]["subjects"] == [{"kind": "User", "name": "gitlab-admin", "apiGroup": "rbac.authorization.k8s.io"}]
    npj = docs(ok("rbac", "--user", "gitlab-admin", "--profile", "executor", "--namespace", "ci", "--with", "namespace-per-job",
                  "--no-namespaces").out)
    assert [o["kind"] for o in npj] == ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    assert ("", "namespaces", "create") in rules_as_rows(npj[2:])


def test_deployer_profile_and_token_secret() -> None:
    objects = docs(ok("rbac", "--service-account", "ci/deployer", "--profile", "deployer", "--with-token-secret",
                      "--no-namespaces").out)
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Secret", "Role", "RoleBinding"]
    assert objects[1]["type"] == "kubernetes.io/service-account-token"
    assert objects[1]["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "deployer"
    rows = rules_as_rows(objects)
    for needed in [("apps", "deployments", "patch"), ("", "services", "create"), ("", "secrets", "get"),
                   ("networking.k8s.io", "ingresses", "update"), ("batch", "jobs", "create"), ("", "pods", "list")]:
        assert needed in rows
    assert ("", "pods", "delete") not in rows
    assert objects[3]["subjects"] == [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]


def test_rbac_applies_on_a_fresh_cluster() -> None:
    """Every namespace an object lives in is created first, once; the
    built-in ones never; --no-namespaces leaves them out."""
    for args, expected in [
        (["--service-account", "ci/deployer", "--profile", "deployer"], ["ci"]),
        (["--service-account", "ci/deployer", "--profile", "deployer", "--namespace", "prod"], ["ci", "prod"]),
        (["--user", "u", "--profile", "executor", "--namespace", "gitlab-runner"], ["gitlab-runner"]),
        (["--user", "u", "--profile", "executor", "--namespace", "default"], []),
        (["--service-account", "kube-system/x", "--profile", "deployer"], []),
        (["--user", "u", "--profile", "cluster-admin"], []),
    ]:
        objects = docs(ok("rbac", *args).out)
        names = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
        assert names == expected, (args, objects)
        assert [o["kind"] for o in objects[: len(names)]] == ["Namespace"] * len(names)
        used = {o["metadata"].get("namespace") for o in objects} - {None, "default", "kube-system"}
        assert used == set(names), (args, used)
        for o in objects:
            assert errors(o) == [], (o, errors(o))
        assert not [o for o in docs(ok("rbac", *args, "--no-namespaces").out) if o["kind"] == "Namespace"]


def test_rbac_for_a_fleet_binds_its_group_never_everyone() -> None:
    objects = docs(ok("rbac", "--group", "gitlab-runners", "--profile", "executor", "--namespace", "ci").out)
    binding = [o for o in objects if o["kind"] == "RoleBinding"][0]
    assert binding["subjects"] == [{"kind": "Group", "name": "gitlab-runners", "apiGroup": "rbac.authorization.k8s.io"}]
    assert binding["metadata"]["name"].startswith("gitlab-runner-executor-group-gitlab-runners-")
    for o in objects:
        assert errors(o) == [], o
    for everyone in ["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:ci", "system:unauthenticated"]:
        r = run("rbac", "--group", everyone, "--profile", "cluster-admin")
        assert r.code == 2 and "every identity of its kind" in r.err, (everyone, r.err)
    assert run("rbac", "--group", "g", "--profile", "executor", "--namespace", "").code == 2
    a, b = (docs(ok("rbac", "--user", u, "--profile", "executor", "--namespace", "ci").out) for u in ("u/x", "u-x"))
    assert a[-1]["metadata"]["name"] != b[-1]["metadata"]["name"]
    r = run("rbac", "--group", "a", "--group", "b", "--profile", "executor", "--namespace", "ci")
    assert r.code == 2 and "--group G alone" in r.err


def test_rbac_bad_input() -> None:
    for args, needle in [
        (["--user", "u", "--profile", "executor"], "--namespace"),
        (["--user", "u", "--profile", "executor", "--namespace", "Bad_NS"], "RFC 1123"),
        (["--service-account", "nons", "--profile", "deployer"], "NAMESPACE/NAME"),
        (["--service-account", "ns/Bad", "--profile", "deployer"], "RFC 1123"),
        (["--user", "u", "--profile", "god", "--namespace", "ns"], "unknown profile"),
        (["--user", "u", "--profile", "executor", "--namespace", "ns", "--with", "warp"], "unknown executor feature"),
        (["--user", "u", "--profile", "deployer", "--namespace", "ns", "--with-token-secret"], "--service-account"),
    ]:
        r = run("rbac", *args)
        assert r.code == 2 and needle in r.err, (args, r)


@pytest.fixture
def cluster(tmp_path: Path):
    """A cluster CA, an admin identity, and an API server on loopback."""
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "gitlab-admin", "--group", "gitlab-runners",
       "--out-dir", tmp_path / "ssl")
    crt, key = serving_cert(tmp_path, ca_crt, ca_key)
    server = start_apiserver(crt, key, ca_crt)
    yield tmp_path, server
    server.stop()


def test_kubeconfig_works_with_real_kubectl(cluster) -> None:
    d, server = cluster
    ssl = d / "ssl"
    kc = d / "kubeconfig"
    ok("kubeconfig", "--server", server.url, "--ca", ssl / "ca.crt", "--cert", ssl / "gitlab-admin.crt",
       "--key", ssl / "gitlab-admin.key", "--out", kc)
    assert kc.stat().st_mode & 0o777 == 0o600
    view = kubectl("--kubeconfig", kc, "config", "view", "--raw", "-o", "json", home=d)
    assert view.returncode == 0, view.stderr
    cfg = json.loads(view.stdout)
    assert cfg["clusters"][0]["cluster"]["server"] == server.url
    assert base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]) == (ssl / "ca.crt").read_bytes()
    assert x509.load_pem_x509_certificate(base64.b64decode(cfg["users"][0]["user"]["client-certificate-data"])) == \
        x509.load_pem_x509_certificate((ssl / "gitlab-admin.crt").read_bytes())
    assert cfg["current-context"] == "gitlab-admin@kubernetes"
    ok("verify", "--ca", kc, "--cert", ssl / "gitlab-admin.crt")
    r = run("verify", "--ca", d / "config.toml" if (d / "config.toml").exists() else ssl / "gitlab-admin.key",
            "--cert", ssl / "gitlab-admin.crt")
    assert r.code == 2
    version = kubectl("--kubeconfig", kc, "get", "--raw", "/version", home=d)
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout)["gitVersion"] == "v1.30.0"

    items = json.loads(ok("inspect", kc, "--json").out)
    assert [(i["kind"], i["name"], i["source"], i["key_embedded"]) for i in items] == [
        ("kubeconfig_user", "gitlab-admin", "embedded", True)]
    assert items[0]["certificate"]["groups"] == ["gitlab-runners"]
    assert "BEGIN" not in ok("inspect", kc).out

    ref = d / "kubeconfig-ref"
    ok("kubeconfig", "--server", server.url, "--ca", ssl / "ca.crt", "--cert", ssl / "gitlab-admin.crt",
       "--key", ssl / "gitlab-admin.key", "--reference-files", "--out", ref)
    assert "client-key-data" not in ref.read_text()
    ok("verify", "--ca", ref, "--cert", ssl / "gitlab-admin.crt")
    item = json.loads(ok("inspect", ref, "--json").out)[0]
    assert (item["source"], item["key_embedded"]) == (str(ssl / "gitlab-admin.crt"), False)
    assert kubectl("--kubeconfig", ref, "get", "--raw", "/version", home=d).returncode == 0


def test_kubeconfig_with_the_wrong_ca_fails_like_the_runner(cluster) -> None:
    d, server = cluster
    other_crt, _ = make_ca(d, "other")
    ssl = d / "ssl"
    kc = d / "kubeconfig-wrong"
    ok("kubeconfig", "--server", server.url, "--ca", other_crt, "--cert", ssl / "gitlab-admin.crt",
       "--key", ssl / "gitlab-admin.key", "--out", kc)
    r = kubectl("--kubeconfig", kc, "get", "--raw", "/version", home=d)
    assert r.returncode != 0
    assert "x509: certificate signed by unknown authority" in r.stderr


def test_kubeconfig_bad_input(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path)
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "a", "--out-dir", tmp_path / "a")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "b", "--out-dir", tmp_path / "b")
    base = ["kubeconfig", "--ca", ca_crt, "--out", tmp_path / "kc"]
    r = run(*base, "--server", "http://x:6443", "--cert", tmp_path / "a/a.crt", "--key", tmp_path / "a/a.key")
    assert r.code == 2 and "https://" in r.err
    r = run(*base, "--server", "https://x:6443", "--cert", tmp_path / "a/a.crt", "--key", tmp_path / "b/b.key")
    assert r.code == 2 and "does not match" in r.err and "b.key" in r.err
    assert not (tmp_path / "kc").exists()


def k8s_csr_object(tmp_path: Path, name: str = "gitlab-admin") -> tuple[dict, Path]:
    key = tmp_path / "gitlab-admin.key"
    ok("key", "generate", "--out", key)
    r = ok("k8s-csr", "create", "--key", key, "--name", name, "--user", "gitlab-admin", "--group", "gitlab-runners",
           "--expiration", "720h", "-o", "json")
    return json.loads(r.out), key


def test_k8s_csr_create_validates_and_carries_the_csr(tmp_path: Path) -> None:
    obj, _ = k8s_csr_object(tmp_path)
    assert errors(obj) == []
    spec = obj["spec"]
    assert spec["signerName"] == "kubernetes.io/kube-apiserver-client"
    assert spec["expirationSeconds"] == 720 * 3600
    assert spec["usages"] == ["client auth", "digital signature"]
    csr = x509.load_pem_x509_csr(base64.b64decode(spec["request"]))
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "O=gitlab-runners,CN=gitlab-admin"
    rsa_key = tmp_path / "rsa.key"
    ok("key", "generate", "--algorithm", "rsa-2048", "--out", rsa_key)
    obj = yaml.safe_load(ok("k8s-csr", "create", "--key", rsa_key, "--name", "x", "--user", "u").out)
    assert obj["spec"]["usages"] == ["client auth", "digital signature", "key encipherment"]
    assert errors(obj) == []
    ok("csr", "create", "--key", rsa_key, "--user", "from-file", "--out", tmp_path / "f.csr")
    obj = yaml.safe_load(ok("k8s-csr", "create", "--csr", tmp_path / "f.csr", "--name", "f").out)
    assert "expirationSeconds" not in obj["spec"]
    for args, needle in [
        (["--key", rsa_key, "--name", "x", "--user", "u", "--expiration", "5m"], "600"),
        (["--key", rsa_key, "--name", "Bad_Name", "--user", "u"], "RFC 1123"),
        (["--key", rsa_key, "--name", "x", "--user", "u", "--group", "system:masters"], "--allow-system-masters"),
    ]:
        r = run("k8s-csr", "create", *args)
        assert r.code == 2 and needle in r.err, r


def api_response(obj: dict, status: dict | None) -> dict:
    """What `kubectl get csr NAME -o json` returns for the object."""
    out = copy.deepcopy(obj)
    out["metadata"].update({"creationTimestamp": "2026-11-26T10:00:00Z", "resourceVersion": "4242",
                            "uid": "1b7a3c9e-2f4d-4c1a-9e8b-0a1b2c3d4e5f"})
    out["spec"].update({"groups": ["system:masters", "system:authenticated"], "username": "kubernetes-admin"})
    out["status"] = status or {}
    return out


def test_k8s_csr_import_approved_pending_denied_failed(tmp_path: Path) -> None:
    obj, key = k8s_csr_object(tmp_path)
    ca_crt, ca_key = make_ca(tmp_path, "cluster")
    csr_pem = tmp_path / "req.csr"
    csr_pem.write_bytes(base64.b64decode(obj["spec"]["request"]))
    signed = tmp_path / "signed.crt"
    ok("csr", "sign", csr_pem, "--ca-cert", ca_crt, "--ca-key", ca_key, "--days", "30", "--out", signed)
    now = "2026-11-26T10:00:05Z"
    approved = api_response(obj, {
        "conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
                        "message": "This CSR was approved by kubectl certificate approve.",
                        "lastUpdateTime": now, "lastTransitionTime": now}],
        "certificate": base64.b64encode(signed.read_bytes()).decode(),
    })
    (tmp_path / "approved.json").write_text(json.dumps(approved, indent=4))
    out = tmp_path / "gitlab-admin.crt"
    ok("k8s-csr", "import", "--from", tmp_path / "approved.json", "--key", key, "--out", out)
    ok("verify", "--ca", ca_crt, "--cert", out, "--key", key)
    (tmp_path / "approved.yaml").write_text(yaml.safe_dump(approved))
    ok("k8s-csr", "import", "--from", tmp_path / "approved.yaml", "--key", key, "--out", tmp_path / "y.crt")
    r = ok("k8s-csr", "import", "--from", "-", "--key", key, "--out", tmp_path / "s.crt", input=json.dumps(approved))
    assert "gitlab-admin" in r.out

    cases = {
        "pending": (api_response(obj, None), "not approved yet"),
        "approved-not-issued": (api_response(obj, {"conditions": approved["status"]["conditions"]}), "not issued"),
        "denied": (api_response(obj, {"conditions": [{"type": "Denied", "status": "True", "reason": "KubectlDeny",
                                                       "message": "This CSR was denied by kubectl certificate deny.",
                                                       "lastUpdateTime": now, "lastTransitionTime": now}]}),
                   "KubectlDeny"),
        "failed": (api_response(obj, {"conditions": [
            {"type": "Approved", "status": "True", "reason": "KubectlApprove", "message": "approved", "lastUpdateTime": now},
            {"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
             "message": "invalid usage for client certificate: server auth", "lastUpdateTime": now}]}),
                   "SignerValidationFailure"),
    }
    for name, (doc, needle) in cases.items():
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps(doc))
        r = run("k8s-csr", "import", "--from", f, "--key", key, "--out", tmp_path / f"{name}.crt")
        # Not granted (pending, denied, failed): an outcome, exit 1.
        assert r.code == 1 and needle in r.err, (name, r)
        assert not (tmp_path / f"{name}.crt").exists()
    other = tmp_path / "other.key"
    ok("key", "generate", "--out", other)
    r = run("k8s-csr", "import", "--from", tmp_path / "approved.json", "--key", other, "--out", tmp_path / "o.crt")
    assert r.code == 2 and "does not match" in r.err
