"""The outbox sender as a child process of `qihu run` ([delivery] worker = "process"): replies go out
on another core while the server's one runs turns. The parent wakes it through a pipe after every
commit; the pipe's end-of-file (the parent gone, even by kill -9) stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from bot.services.delivery import OutboxSender

log = logging.getLogger(__name__)
RESTART_DELAY = 1.0


class DeliveryProcess:
    """Starts `qihu deliver`, restarts it when it dies, and forwards the server's kicks to it."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self.proc: asyncio.subprocess.Process | None = None
        self._kick_fd: int | None = None
        self._kick_pending = False
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        args = [sys.executable, "-m", "bot"] + (["--config", self.config_path] if self.config_path else [])
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *args, "deliver", "--kick-fd", str(read_fd), pass_fds=(read_fd,))
        finally:
            os.close(read_fd)
        self._kick_fd = write_fd
        log.info("outbox sender started as process %s", self.proc.pid)

    async def _supervise(self) -> None:
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            log.error("outbox sender process exited with %s; restarting in %s s", code, RESTART_DELAY)
            self._close_pipe()
            await asyncio.sleep(RESTART_DELAY)
            if not self._stopping:
                await self._spawn()

    def kick(self) -> None:
        """Something was committed to send: wake the sender, one byte per loop turn at most."""
        if not self._kick_pending and self._kick_fd is not None:
            self._kick_pending = True
            asyncio.get_running_loop().call_soon(self._write_kick)

    def _write_kick(self) -> None:
        self._kick_pending = False
        if self._kick_fd is None:
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError):  # full: it has wake-ups waiting already
            os.write(self._kick_fd, b"k")

    def _close_pipe(self) -> None:
        if self._kick_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._kick_fd)
            self._kick_fd = None

    async def stop(self, timeout: float = 15.0) -> None:
        """Close the pipe (the sender finishes its pass and exits), then wait for it."""
        self._stopping = True
        self._close_pipe()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                log.warning("outbox sender process did not stop in %s s; killing it", timeout)
                self.proc.kill()
                await self.proc.wait()


async def run_sender(outbox: OutboxSender, poll_seconds: float, kick_fd: int) -> None:
    """The child's side: deliver until the parent closes the pipe or SIGTERM; a pass under way finishes."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    os.set_blocking(kick_fd, False)

    def on_kick() -> None:
        try:
            data = os.read(kick_fd, 4096)
        except BlockingIOError:
            return
        if data:
            outbox.kick()
        else:  # the parent closed its end, or died
            loop.remove_reader(kick_fd)
            stop.set()

    loop.add_reader(kick_fd, on_kick)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sender = asyncio.create_task(outbox.run_forever(poll_seconds, stop))
    await stop.wait()
    outbox.kick()  # end the wait between passes at once
    await sender
