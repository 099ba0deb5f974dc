"""Private keys are created 0600 from the first byte: checked by tracing
the system calls with strace, not by looking at the file afterwards."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import binary

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


def traced(work: Path, *args: str) -> list[str]:
    log = work / "trace.log"
    subprocess.run(
        ["sh", "-c", 'umask 000; exec strace -f -qq -e trace=openat,open,creat,chmod,fchmod,fchmodat,rename,link -o "$0" "$@"',
         str(log), str(binary()), *args],
        check=True, cwd=work, capture_output=True, timeout=60,
    )
    return log.read_text().splitlines()


@pytest.mark.parametrize(
    "args,key",
    [
        (["key", "generate", "--out", "k.pem"], "k.pem"),
        (["ca", "init", "--out-dir", "ca", "--algorithm", "ecdsa-p256"], "ca/ca.key"),
    ],
)
def test_key_file_is_created_with_mode_0600_and_never_chmodded(tmp_path: Path, args: list[str], key: str) -> None:
    lines = traced(tmp_path, *args)
    name = Path(key).name
    creates = [l for l in lines if re.search(r"open(at)?\(.*" + re.escape(name) + r".*O_CREAT", l)]
    assert creates, "\n".join(lines)
    for l in creates:
        assert "O_EXCL" in l and l.rstrip().split(", ")[-1].startswith("0600"), l
    # No chmod of any kind ever reaches the key (directories and public
    # files get their explicit modes; the key is born 0600).
    fds: dict[str, str] = {}
    for l in lines:
        opened = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*= (\d+)$', l)
        if opened:
            fds[opened.group(2)] = opened.group(1)
        fchmod = re.search(r"fchmod\((\d+),", l)
        if fchmod:
            assert name not in fds.get(fchmod.group(1), ""), l
        path_chmod = re.search(r'chmod(?:at)?\((?:AT_FDCWD, )?"([^"]+)"', l)
        if path_chmod:
            assert name not in path_chmod.group(1), l
    assert (tmp_path / key).stat().st_mode & 0o777 == 0o600
