"""Ctrl-C (SIGINT) and SIGTERM as a normal way to stop a run: raised as `Interrupted`, which the entry point
turns into one line saying where the run stopped and how to go on."""

import signal
from contextlib import contextmanager


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no `except Exception` between
    the signal and the entry point swallows it; `exit_code` is the shell's 128 + the signal's number. Whoever
    knows adds `where` (" at step 12") and `resume` (how to go on) on its way up."""

    def __init__(self, signum: int):
        super().__init__()
        self.signal, self.exit_code = signal.Signals(signum).name, 128 + signum
        self.where, self.resume = "", ""

    def __str__(self) -> str:
        return f"interrupted by {self.signal}{self.where}" + (f"; {self.resume}" if self.resume else "")


@contextmanager
def stop_on_signals():
    def interrupt(signum, frame):
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
