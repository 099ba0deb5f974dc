"""The real control plane (etcd, kube-apiserver, kube-controller-manager at
the release pinned in tests/controlplane/go.mod), started once for the test
session by scripts/control-plane.sh. A test that needs it takes the
`control_plane` fixture; when it cannot be built or started the test fails
with the components' log tails — it is never skipped."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "control-plane.sh"


@dataclass
class ControlPlane:
    dir: Path
    server: str
    ca: Path
    ca_key: Path
    pki: Path
    admin: Path

    def kubectl(self, *args: object, kubeconfig: Path | None = None, check: bool = True,
                input: str | None = None) -> subprocess.CompletedProcess:
        p = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig or self.admin), *map(str, args)],
                           capture_output=True, text=True, timeout=60, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p


def start(base: Path, signing_duration: str | None = None) -> ControlPlane:
    env = dict(os.environ)
    if signing_duration:
        env["RUNNERKEY_CP_SIGNING_DURATION"] = signing_duration
    p = subprocess.run(["bash", str(SCRIPT), "start", str(base)], capture_output=True, text=True, env=env,
                       timeout=3600)
    if p.returncode != 0:
        pytest.fail(f"the real control plane did not start (scripts/control-plane.sh start):\n{p.stderr[-6000:]}")
    values = {}
    for line in (base / "env").read_text().splitlines():
        k, _, v = line.removeprefix("export ").partition("=")
        values[k] = v.strip("'")
    return ControlPlane(dir=base, server=values["RUNNERKEY_CP_SERVER"], ca=Path(values["RUNNERKEY_CP_CA"]),
                        ca_key=Path(values["RUNNERKEY_CP_CA_KEY"]), pki=Path(values["RUNNERKEY_CP_PKI"]),
                        admin=Path(values["RUNNERKEY_CP_ADMIN_KUBECONFIG"]))


def stop(cp: ControlPlane) -> None:
    subprocess.run(["bash", str(SCRIPT), "stop", str(cp.dir)], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory):
    cp = start(tmp_path_factory.mktemp("control-plane"))
    yield cp
    stop(cp)
