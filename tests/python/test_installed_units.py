"""The units written by the pip-installed `runnerkey` command run the
command the user installed (the console script), never the Python
interpreter with subcommand arguments — which would make gitlab-runner's
pre-start check fail and stop it from starting."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from test_trust_boundaries import systemd_words

from cluster import make_ca
from conftest import fixture, ok


def test_the_console_script_writes_units_that_run_it(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "runnerkey"
    assert script.is_file(), f"{script}: the wheel's console script is installed by scripts/test.sh"
    ca_crt, ca_key = make_ca(tmp_path, "pki")
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(fixture("runner-configs", "gitlabhq_gitlab-runner_register-merged.toml").read_bytes())
    ok("setup", "--ca-dir", ca_crt.parent, "--server", "https://127.0.0.1:1", "--runner", "test-runner",
       "--config", cfg, "--out-dir", tmp_path / "ssl")
    root = tmp_path / "root"
    p = subprocess.run([str(script), "systemd", "--config", str(cfg), "--runner", "test-runner", "--ca-dir",
                        str(ca_crt.parent), "--install", "--root", str(root)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    units = root / "etc" / "systemd" / "system"
    dropin = (units / "runnerkey-renew@test\\x2drunner.service.d" / "runnerkey.conf").read_text()
    pre = next(units.glob("gitlab-runner.service.d/*.conf")).read_text()
    start = re.findall(r"^ExecStart=(.+)$", dropin, re.M)[-1]
    check = re.findall(r"^ExecStartPre=(.+)$", pre, re.M)[-1]
    for line in (start, check):
        argv = systemd_words(line, env=True)
        assert Path(argv[0]).resolve() == script.resolve(), (argv[0], script)
        assert "python" not in Path(argv[0]).name
        # Run exactly as systemd would.
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
    assert shutil.which("systemd-analyze")
