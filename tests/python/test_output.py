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


VOLATILE = {"generated_at", "seconds_left", "elapsed", "new_not_after", "new_not_before"}


def stable(v: object) -> object:
    """The data without what changes from one run to the next (the clock)."""
    if isinstance(v, dict):
        return {k: stable(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [stable(x) for x in v]
    return v


def test_every_report_prints_as_json_and_as_the_same_yaml(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--out-dir", tmp_path / "ssl")
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    live = tmp_path / "live.toml"
    live.write_bytes(cfg.read_bytes())
    ok("setup", "--ca-cert", ca_crt, "--ca-key", ca_key, "--server", "https://127.0.0.1:1", "--runner",
       "test-runner", "--config", live, "--out-dir", tmp_path / "live", "-q")
    ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "k", "--out-dir", tmp_path / "kv", "-q")
    commands = [
        ["status", "--config", live],
        ["renew", "--config", live, "--runner", "test-runner", "--ca-cert", ca_crt, "--ca-key", ca_key,
         "--force", "--dry-run", "--no-online"],
        ["issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "k", "--out-dir", tmp_path / "kv",
         "--keep-valid"],
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
        data = stable(json.loads(as_json.out))
        assert stable(json.loads(run(*args, "-o", "json").out)) == data, args
        as_yaml = run(*args, "--output", "yaml")
        assert as_yaml.code == as_json.code and stable(yaml.load(as_yaml.out, Loader=Yaml12Loader)) == data, args
        text = run(*args)
        assert text.code == as_json.code and text.out != as_json.out, args
        both = run(*args, "--json", "-o", "yaml")
        assert both.code == 2 and "cannot be used with" in both.err, args


def test_a_plain_issue_prints_what_it_wrote_as_data(tmp_path: Path) -> None:
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    as_yaml = ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--group", "g", "--out-dir",
                 tmp_path / "y", "-o", "yaml")
    data = yaml.load(as_yaml.out, Loader=Yaml12Loader)
    assert (data["user"], data["groups"], data["cert_file"]) == ("u", ["g"], str(tmp_path / "y" / "u.crt")), data
    as_json = json.loads(ok("issue", "--ca-cert", ca_crt, "--ca-key", ca_key, "--user", "u", "--group", "g",
                            "--out-dir", tmp_path / "j", "--json").out)
    assert as_json.keys() == data.keys()


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
