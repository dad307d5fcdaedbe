"""The scoring kernel in a helper process that loads Numba while `jetmatch score` reads the database.

In a fresh ``jetmatch score`` process about a third of a second goes on Numba before the
first kernel runs: importing it, loading its built-in implementations (``BaseContext.refresh``)
and the compiled kernels from the on-disk cache. The kernels themselves take some 50 ms on
40,000 alumni x 300 relationships. Meanwhile the process imports SQLAlchemy and the models
and reads the pool, all in Python on one core. So the command forks a helper at its start
(:meth:`KernelProcess.start`), which does the Numba part on the other core; the pool's arrays
go to it through a pipe (a few MB, pickled), and the volunteer rows come back the same way,
ready to store (:func:`matcher.scoring.suggestions.volunteer_rows`).
While the helper scores, the command computes the partner rows and clears the old lists.

Only a process that is about to do nothing else forks (the console script's ``score``: one
thread, Numba not loaded yet); anywhere else (tests, a worker, where Numba is loaded once
for many runs) :func:`in_process` scores in the process, as before. If the helper fails or
dies, the command scores in its own process (the answer is the same either way).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["KernelProcess", "Pending", "in_process"]

#: what starting a run returns: the function that waits for its result
Pending = Callable[[], Any]


def in_process(fn: Callable[..., Any], *args) -> Pending:
    """Run ``fn(*args)`` in this process, now; return the function that hands the result over."""
    result = fn(*args)
    return lambda: result


def _warm() -> None:
    """Import the kernels and load Numba's implementations, as the first compiled call would."""
    import matcher.scoring.compiled  # noqa: F401 - the kernels, and Numba with them
    import matcher.scoring.suggestions  # noqa: F401 - where the run's function lives
    from numba.core.registry import cpu_target

    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()


def _serve(requests, replies) -> None:
    """The helper's life: warm up, read one request, score it, write the reply."""
    try:
        _warm()
    except Exception:  # the request below fails with the real error, or works without the warm-up
        pass
    try:
        request = pickle.load(requests)
    except (EOFError, OSError, pickle.UnpicklingError):  # the command ended without scoring
        return
    try:
        fn, args = request
        reply: tuple = ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - handed to the command, which runs it itself
        reply = ("error", f"{type(exc).__name__}: {exc}")
    pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
    replies.flush()


class KernelProcess:
    """A forked helper that scores one pool (see the module's notes). Use :meth:`start`, then call it as
    :func:`in_process` is called; :meth:`close` (or the end of the process) ends it."""

    def __init__(self, pid: int, requests, replies) -> None:
        self.pid, self._requests, self._replies = pid, requests, replies
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls) -> KernelProcess | None:
        """Fork the helper; None where that would not help or is not safe (no fork, threads running,
        Numba already loaded)."""
        if not hasattr(os, "fork") or threading.active_count() > 1 or "numba" in sys.modules:
            return None
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:  # the helper: nothing of the command's (its output, its exit handlers) is touched
            try:
                os.close(request_w)
                os.close(reply_r)
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):  # never hold the command's output open after it ends
                    os.dup2(null, fd)
                with os.fdopen(request_r, "rb") as requests, os.fdopen(reply_w, "wb") as replies:
                    _serve(requests, replies)
            finally:
                os._exit(0)
        os.close(request_r)
        os.close(reply_w)
        return cls(pid, os.fdopen(request_w, "wb"), os.fdopen(reply_r, "rb"))

    def __call__(self, fn: Callable[..., Any], *args) -> Pending:
        """Send ``fn`` (a module-level function, pickled by name) and its arguments to the helper, from a
        thread (the pipe holds 64 KiB and the helper may still be warming up); return the function that
        waits for ``fn(*args)``, run here if the helper failed."""
        payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)

        def send() -> None:
            try:
                self._requests.write(payload)
                self._requests.close()
            except OSError:  # the helper is gone: waiting reads nothing and scores here
                pass

        self._sender = threading.Thread(target=send, name="jetmatch-kernel-send", daemon=True)
        self._sender.start()

        def wait() -> Any:
            self._sender.join()
            try:
                reply = pickle.load(self._replies)
            except (EOFError, OSError, pickle.UnpicklingError):
                reply = ("error", "the scoring helper ended without a reply")
            finally:
                self.close()
            if reply[0] == "ok":
                return reply[1]
            return in_process(fn, *args)()

        return wait

    def close(self) -> None:
        """Close the pipes and reap the helper (which ends when its request pipe closes)."""
        if self._sender is not None:
            self._sender.join()  # the helper reads the whole request (or is gone, which ends the write)
        for stream in (self._requests, self._replies):
            try:
                stream.close()
            except OSError:
                pass
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0
