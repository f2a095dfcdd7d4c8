"""The project's one channel out, the ground floor every other package builds on: `ProjectError` (something the
user can fix), `Interrupted` (Ctrl-C or SIGTERM), the entry points' exit that turns either into one line, argument
parsers that report through it, and the logging set-up every command shares."""

import argparse
import logging
import signal
import sys
from contextlib import contextmanager

from tqdm.auto import tqdm

# The project's packages, whose INFO lines a command shows (each module logs under its own `__name__`).
PACKAGES = ("training", "run_folder", "studies", "inference", "training_report", "sst_data", "benchmarks")


class ProjectError(Exception):
    """Something the user can fix: the message is one line saying what is wrong and what to do. Helpers raise
    it (or a subclass); each entry point prints it once as `<prog>: error: <message>` and exits non-zero."""


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


def setup_logging(main_process: bool = True, transformers_level: int = logging.WARNING) -> None:
    """Log lines to standard output with a time stamp: the project's at INFO on the main process (WARNING on the
    others), transformers' at `transformers_level` (TrainingArguments.get_process_log_level())."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    for name in PACKAGES:
        logging.getLogger(name).setLevel(logging.INFO if main_process else logging.WARNING)
    from transformers.utils import logging as transformers_logging  # here: the ground floor imports no ML library

    transformers_logging.set_verbosity(transformers_level)


def one_line_errors(parser):
    """`parser` (argparse's, or transformers' HfArgumentParser) with its bad-argument report through this channel: a
    `ProjectError` of one line, where argparse would print the whole usage and exit 2."""

    def error(message: str):
        raise ProjectError(message)

    parser.error = error
    return parser


def parse_flags(dataclass_type, argv, prog: str, description: str):
    """An entry point's one argument dataclass from `argv` (HfArgumentParser), every refusal through this channel:
    argparse's and the dataclass's own checks (`__post_init__`'s ValueError) alike, as one line."""
    from transformers import HfArgumentParser  # here: the ground floor imports no ML library when it loads

    parser = one_line_errors(HfArgumentParser(
        dataclass_type, prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    ))  # fmt: skip
    try:
        (args,) = parser.parse_args_into_dataclasses(argv, look_for_args_file=False)
    except ValueError as err:
        raise ProjectError(" ".join(str(err).split())) from None
    return args


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
