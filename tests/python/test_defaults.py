"""One place per default: the library's (runnerkey.DEFAULTS) are what the
Ansible modules' argument specs and their documentation say, read here
through the Python package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import runnerkey

ROOT = Path(__file__).resolve().parents[2]

yaml = pytest.importorskip("yaml")
pytest.importorskip("ansible")


@pytest.fixture(scope="module")
def collection():
    sys.path.insert(0, str(ROOT))
    try:
        from ansible_collections.runnerkey.kubernetes.plugins.doc_fragments import ca
        from ansible_collections.runnerkey.kubernetes.plugins.module_utils import support
        from ansible_collections.runnerkey.kubernetes.plugins.modules import setup

        yield setup, support, ca.ModuleDocFragment
    finally:
        sys.path.remove(str(ROOT))


def test_defaults_are_text_of_every_default():
    d = runnerkey.DEFAULTS
    assert d["user"] == "gitlab-admin"
    assert d["out_dir"] == "/etc/ssl/kubernetes"
    assert d["job_service_account"] == "gitlab-deployer"
    assert d["algorithm"] == "ecdsa-p256"
    assert {"days", "renew_before", "token_duration", "wait", "online_timeout", "request_timeout"} <= d.keys()


def test_ansible_argument_specs_and_docs_default_to_the_librarys(collection):
    setup, support, fragment = collection
    d = runnerkey.DEFAULTS
    own = {
        "user": d["user"],
        "out_dir": d["out_dir"],
        "namespace": d["namespace"],
        "service_account": d["job_service_account"],
        "token_duration": d["token_duration"],
        "renew_before": d["renew_before"],
    }
    documented = yaml.safe_load(setup.DOCUMENTATION)["options"]
    for name, value in own.items():
        assert setup.OPTIONS[name]["default"] == value, name
        assert str(documented[name]["default"]) == value, name
    shared = [
        (support.ISSUE_OPTIONS, fragment.ISSUE, "algorithm", d["algorithm"]),
        (support.ISSUE_OPTIONS, fragment.ISSUE, "days", d["days"]),
        (support.CLUSTER_OPTIONS, fragment.CLUSTER, "wait", d["wait"]),
    ]
    for spec, doc, name, value in shared:
        assert str(spec[name]["default"]) == value, name
        assert str(yaml.safe_load(doc)["options"][name]["default"]) == value, name
