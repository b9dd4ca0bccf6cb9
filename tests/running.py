"""Running `hasm` as the tests do: in a fresh process (its output captured, or one of its
streams a pseudo-terminal) or in this one (its exit code)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from hasm.cli import main

__all__ = ["hasm", "hasm_here", "on_a_terminal"]


def hasm(
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`hasm ARGS` in a fresh process, text in and out captured; `env` is its whole
    environment (None: this one's)."""
    return subprocess.run(
        [sys.executable, "-m", "hasm", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        cwd=cwd,
        env=env,
    )


def hasm_here(*args: str) -> int:
    """`hasm ARGS` in this process: its exit code, whether argparse or the command ends it."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def on_a_terminal(
    *args: str, stream: str = "stderr", env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run `hasm ARGS` with `stream` (stdout or stderr) a pseudo-terminal and the other
    discarded: the exit code and what the terminal showed."""
    leader, follower = pty.openpty()
    where = {stream: follower}
    other = "stderr" if stream == "stdout" else "stdout"
    where[other] = subprocess.DEVNULL
    with subprocess.Popen(
        [sys.executable, "-m", "hasm", *args],
        stdout=where["stdout"],
        stderr=where["stderr"],
        env=env,
    ) as proc:
        os.close(follower)
        shown = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            shown += chunk
        code = proc.wait(timeout=60)
    os.close(leader)
    return code, shown.decode("utf-8", "replace")
