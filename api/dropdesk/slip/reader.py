"""SlipReader: OCR in worker processes, bounded in time and memory, awaitable off the loop.

Each worker is a spawned process that loads the engine once. A photo is size-checked from its
header first (cheap); decoding and OCR happen in the worker under an address-space limit. A
worker that overruns the timeout is killed and replaced, so a hostile image costs one photo's
timeout, never the service. Waiting happens on the reader's own few threads, so the event loop
and the default executor (database work) are never held up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from dropdesk.slip import service, worker
from dropdesk.slip.image import ImageLimits, ImageRefusedError, check
from dropdesk.slip.models import ReadStatus, SlipReading
from dropdesk.timezone import now_shanghai

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderLimits:
    timeout_seconds: float = 15.0  # OCR of one photo, once a worker has it
    start_seconds: float = 60.0  # a new worker loading and warming the models
    memory_bytes: int = 3 * 1024**3  # the worker's address space (the engine alone ~1.3 GiB)
    threads: int = 1  # onnxruntime threads per worker
    image: ImageLimits = field(default_factory=ImageLimits)


class WorkerGoneError(RuntimeError):
    """The worker died or never got ready."""


class _Worker:
    def __init__(self, limits: ReaderLimits) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a threaded server
        parent, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=worker.serve,
            args=(child, limits.image, limits.memory_bytes, limits.threads),
            name="slip-ocr",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn: Connection = parent
        self.ready = False

    def ask(self, data: bytes, *, start_seconds: float, timeout: float) -> tuple[str, Any]:
        """Send one photo, wait for the answer; TimeoutError or WorkerGoneError otherwise."""
        try:
            if not self.ready:
                if not self.conn.poll(start_seconds):
                    raise WorkerGoneError("not ready in time")
                kind, detail = self.conn.recv()
                if kind != "ready":
                    raise WorkerGoneError(str(detail))
                self.ready = True
            self.conn.send_bytes(data)
            if not self.conn.poll(timeout):
                raise TimeoutError
            answer: tuple[str, Any] = self.conn.recv()
            return answer
        except TimeoutError:  # an OSError too, but the worker is alive and busy
            raise
        except (EOFError, OSError) as exc:
            raise WorkerGoneError(repr(exc)) from exc

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class SlipReader:
    """Read slip photos; one per service process, shared by every request."""

    def __init__(self, *, workers: int = 1, limits: ReaderLimits | None = None) -> None:
        self.limits = limits or ReaderLimits()
        self.size = workers
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        # A photo waits here for a worker; a few more than workers so waiting is bounded.
        self._threads = ThreadPoolExecutor(max_workers=workers * 4, thread_name_prefix="slip")

    def start(self) -> None:
        """Spawn the workers now (they warm up in the background); read() does it if needed."""
        with self._lock:
            if self._started:
                return
            self._started = True
            for _ in range(self.size):
                self._idle.put(self._spawn())

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._all = self._all, set()
            self._started = False
        for w in workers:
            w.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def read(self, data: bytes, *, now: dt.datetime | None = None,
                   timeout_seconds: float | None = None) -> SlipReading:  # fmt: skip
        """Read a photo without blocking the event loop."""
        loop = asyncio.get_running_loop()
        # A cancelled caller leaves the thread to finish and give the worker back.
        return await loop.run_in_executor(
            self._threads,
            lambda: self.read_blocking(data, now=now, timeout_seconds=timeout_seconds),
        )

    def read_blocking(self, data: bytes, *, now: dt.datetime | None = None,
                      timeout_seconds: float | None = None) -> SlipReading:  # fmt: skip
        """Read a photo, blocking this thread (scripts, the bench)."""
        started = time.monotonic()
        timeout = timeout_seconds if timeout_seconds is not None else self.limits.timeout_seconds
        try:
            check(data, self.limits.image)
        except ImageRefusedError as exc:
            log.info("slip photo refused: %s", exc)
            return service.refusal(ReadStatus.REJECTED, seconds=time.monotonic() - started)
        self.start()
        try:
            w = self._idle.get(timeout=self.limits.start_seconds + timeout)
        except queue.Empty:
            return service.refusal(ReadStatus.TIMEOUT, seconds=time.monotonic() - started)
        replace = True
        try:
            kind, detail = w.ask(data, start_seconds=self.limits.start_seconds, timeout=timeout)
            replace = kind == "failed" and detail == "memory limit"
        except TimeoutError:
            log.warning("slip OCR over %.1f s: worker replaced", timeout)
            return service.refusal(ReadStatus.TIMEOUT, seconds=time.monotonic() - started)
        except WorkerGoneError as exc:
            log.warning("slip OCR worker gone (%s): replaced", exc)
            return service.refusal(ReadStatus.FAILED, seconds=time.monotonic() - started)
        finally:
            self._give_back(w, replace=replace)
        seconds = time.monotonic() - started
        if kind == "ok":
            return service.interpret(detail, now=now or now_shanghai(), seconds=seconds)
        log.info("slip photo not read: %s %s", kind, detail)
        status = ReadStatus.REJECTED if kind == "rejected" else ReadStatus.FAILED
        return service.refusal(status, seconds=seconds)

    def _spawn(self) -> _Worker:
        w = _Worker(self.limits)
        self._all.add(w)
        return w

    def _give_back(self, w: _Worker, *, replace: bool) -> None:
        if not replace:
            self._idle.put(w)
            return
        w.kill()
        with self._lock:
            self._all.discard(w)
            if self._started:
                self._idle.put(self._spawn())
