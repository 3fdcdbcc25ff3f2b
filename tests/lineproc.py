"""A child process that speaks the peers' line protocol
(tests/polyglot/README.md): its output lines are collected by a reader
thread, and commands are written to its stdin. Shared by the polyglot
test and the fault harness."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable


class LineProcess:
    def __init__(self, name: str, argv: list[str], *, ready: bool = True, **popen: object) -> None:
        """Starts `argv`; with `ready`, waits for its `ready ADDR` line and
        keeps ADDR as `addr` (other commands, such as `rumour agent`, pass
        `ready=False` and read their own first line)."""
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **popen)
        threading.Thread(target=self._read, daemon=True).start()
        self.addr = self.expect(lambda line: line.startswith("ready "), 20).split(" ", 1)[1] if ready else ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def drain(self) -> list[str]:
        """Every line so far."""
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return self.seen

    def expect(self, match: Callable[[str], bool], limit: float) -> str:
        """The first line so far, or within `limit` seconds, that `match`es."""
        end = time.monotonic() + limit
        while True:
            for line in self.drain():
                if match(line):
                    return line
            code = self.proc.poll()
            if code is not None and self.lines.empty():
                # Exited: nothing more can come, so say so now (with its exit
                # code) rather than after the whole limit.
                self.drain()
                raise AssertionError(f"{self.name}: exited with {code} before a match; saw {self.seen[-20:]}")
            if time.monotonic() > end:
                raise AssertionError(f"{self.name}: nothing matched in {limit} s; saw {self.seen[-20:]}")
            time.sleep(0.05)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str, prefix: str, limit: float = 5.0) -> str:
        """Sends `command` and returns its answer, the next line starting with `prefix`."""
        self.drain()
        self.seen = [s for s in self.seen if not s.startswith(prefix)]
        self.send(command)
        return self.expect(lambda line: line.startswith(prefix), limit)

    def stop(self) -> None:
        """Asks it to quit; kills it if it does not within 10 s."""
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
