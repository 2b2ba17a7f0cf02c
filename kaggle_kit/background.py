"""One computation in a thread while the caller does other work, stopped when the caller fails.

Why a thread: the report's covariate evidence (boosted trees, NumPy, BLAS) and the runs' gap estimates spend
most of their time in C code that releases the GIL, so on two cores they overlap (benchmarks/RESULTS.md), with
no second process to start, feed 180 MB of images to, or stop on Ctrl-C. Why cooperative: a thread cannot be
killed, so the work checks ``cancel`` between its steps; a caller that fails (an error, Ctrl-C, SIGTERM) sets it
and waits the one step out, and its error then surfaces as it would have without the thread. With one usable CPU
the two cannot overlap and the switching cost CPU time, so the work runs when the caller asks for its result.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from threadpoolctl import threadpool_limits


class Cancelled(Exception):
    """Raised inside the work when its caller has stopped waiting for it."""


def check(cancel: threading.Event | None) -> None:
    """Between two steps of cancellable work: stop here if the caller has given up."""
    if cancel is not None and cancel.is_set():
        raise Cancelled


def usable_cpus() -> int:
    """CPUs this process may run on (its cpuset or taskset share, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def openmp_threads(limit: int = 1) -> threadpool_limits:
    """Cap OpenMP (the boosted trees' threads) for a block, and nothing else: OpenMP's thread count is each thread's
    own, but BLAS's is the process's, so two threads that each limited every library would restore each other's
    BLAS setting, and could change it under the other's running matrix product. The boosting uses no BLAS."""
    return threadpool_limits(limits=limit, user_api="openmp")


class Job:
    """``fn(*args, cancel=event, **kwargs)`` running in its own thread, or in the caller's at ``result()`` when
    ``inline``."""

    def __init__(self, fn: Callable[..., Any], *args: Any, inline: bool = False, **kwargs: Any) -> None:
        self.cancel_event = threading.Event()
        self._work = (fn, args, kwargs)
        self._outcome: tuple[bool, Any] | None = None
        self._thread = None if inline else threading.Thread(target=self._run,
                                                             name=f"kaggle-kit {getattr(fn, '__name__', 'job')}")

    def _run(self) -> None:
        fn, args, kwargs = self._work
        try:
            self._outcome = (True, fn(*args, cancel=self.cancel_event, **kwargs))
        except BaseException as err:  # handed to the caller's thread by result()
            self._outcome = (False, err)

    def start(self) -> "Job":
        if self._thread is not None:
            self._thread.start()
        return self

    def result(self) -> Any:
        """Wait for the work; its value, or its exception raised here."""
        if self._thread is not None:
            self._thread.join()
        elif self._outcome is None:
            self._run()
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """Ask the work to stop at its next step and wait until it has."""
        self.cancel_event.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


@contextmanager
def in_background(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Job]:
    """Start ``fn`` in a thread for the block, which calls ``job.result()``; leaving the block by an exception
    stops the work first, so no thread outlives a failed caller. One usable CPU: ``fn`` runs at ``result()``."""
    job = Job(fn, *args, inline=usable_cpus() < 2, **kwargs).start()
    try:
        yield job
    finally:  # failed, or done without asking for the result: either way it is not worth waiting for
        job.stop()
