"""Start `python -m bot run` as a real process on a free port and wait for its ready line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """The bot as a county would run it; `kill()` is a power cut, `start()` the restart."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "QIHU_DATABASE__URL": database_url, "QIHU_SERVER__PORT": str(self.port),
                    "QIHU_CONFIG": str(ROOT / "config.example.toml"), "PYTHONUNBUFFERED": "1"}
        self.workdir = workdir
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until the server says it listens, or exits
            self.output.append(line)
            if "企呼已启动" in line:
                # Keep reading its log: a full pipe would block the server on its next log line.
                threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
                return
        raise RuntimeError("server exited before it was ready:\n" + "".join(self.output))

    def _drain(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.output.append(line)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
