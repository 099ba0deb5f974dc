"""`-o text|json|yaml` on every command that prints a report, with `--json`
kept as `-o json`: the YAML is the JSON's data, parsed by PyYAML."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from cluster import make_ca
from conftest import fixture, ok, run


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1's timestamp type: RFC 3339
    strings stay strings, as in YAML 1.2's core schema and in the JSON."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_every_report_prints_as_json_and_as_the_same_yaml(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", tmp_path / "ssl")
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    commands = [
        ["inspect", tmp_path / "ssl" / "u.crt"],
        ["verify", "--ca", ca_crt, "--cert", tmp_path / "ssl" / "u.crt"],
        ["runner-config", "show", "--config", cfg],
        ["runner-config", "lint", "--config", cfg],
        ["doctor", "--config", cfg],
        ["setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--server", "https://10.0.0.1:6443", "--runner",
         "test-runner", "--config", cfg, "--out-dir", tmp_path / "out", "--dry-run"],
    ]
    for args in commands:
        as_json = run(*args, "--json")
        assert as_json.code in (0, 1), (args, as_json.err)
        data = json.loads(as_json.out)
        assert json.loads(run(*args, "-o", "json").out) == data, args
        as_yaml = run(*args, "--output", "yaml")
        assert as_yaml.code == as_json.code and yaml.load(as_yaml.out, Loader=Yaml12Loader) == data, args
        text = run(*args)
        assert text.code == as_json.code and text.out != as_json.out, args
        both = run(*args, "--json", "-o", "yaml")
        assert both.code == 2 and "cannot be used with" in both.err, args


def test_quiet_keeps_the_status_data_and_errors_only(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    loud = ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "a", "--days", "800", "--out-dir", tmp_path / "a")
    assert "issued" in loud.out and "warning" in loud.err
    quiet = ok("-q", "issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "b", "--days", "800",
               "--out-dir", tmp_path / "b")
    assert (quiet.out, quiet.err) == ("", "") and (tmp_path / "b" / "b.crt").exists()
    assert "kind: Role" in ok("rbac", "--user", "u", "--profile", "executor", "--namespace", "ci", "--quiet").out
    assert json.loads(ok("inspect", tmp_path / "b" / "b.crt", "-q", "-o", "json").out)[0]["user"] == "b"
    bad = run("-q", "issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "b", "--out-dir", tmp_path / "b")
    assert bad.code == 2 and "already exists" in bad.err and bad.out == ""
