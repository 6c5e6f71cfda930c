"""Which code built a publication: the package version plus the git commit (and -dirty) when there is one."""
from __future__ import annotations

import subprocess

from phakhi import __version__
from phakhi.settings import REPO_ROOT


def code_version() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0:
            return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__
