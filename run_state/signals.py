"""How a run stops short: Ctrl-C (SIGINT) and SIGTERM raised as `Interrupted`, and the entry points' one
channel out, which turns it or a `ProjectError` into one line (where it stopped, or what is wrong, and what to do)."""

import signal
import sys
from contextlib import contextmanager

from tqdm.auto import tqdm

from sst_data import ProjectError


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


def exit_in_one_line(main, prog: str) -> None:
    """Run an entry point's `main()`: a `ProjectError` ends as `<prog>: error: <message>` (exit 1), `Interrupted`
    as `<prog>: interrupted by SIGINT ...` (exit 130, or 143 for SIGTERM); never a traceback."""
    try:
        main()
    except ProjectError as err:
        close_progress_bars()
        sys.exit(f"{prog}: error: {err}")
    except Interrupted as stop:
        close_progress_bars()
        print(f"{prog}: {stop}", file=sys.stderr)
        sys.exit(stop.exit_code)


def close_progress_bars() -> None:
    """End the line of any progress bar an exception left open (the Trainer closes its own only when training
    ends), so that the one line that follows starts a line of its own."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()
