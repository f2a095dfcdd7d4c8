"""Serve a finished run over HTTP: POST /predict in the Hub's text-classification format, GET /health, GET /info, and
a demo page at /.

    python -m serving --output_dir outputs/notebook                         # make serve OUTPUT_DIR=outputs/notebook
    python -m serving --output_dir RUN --backend onnx-int8 --port 8000      # make serve ... BACKEND=onnx-int8 PORT=8000
    curl -s localhost:8000/predict -d '{"inputs": "a gorgeous, witty, seductive movie."}'

The run is checked finished (and exported, for an ONNX backend) and its model loaded before the port opens.
Concurrent requests are answered together, in batches of up to --max_batch texts, --workers batches at once. SIGTERM or Ctrl-C: the requests in
flight are answered, then the server exits (status 0).
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from errors import exit_in_one_line, parse_flags
from inference import BACKENDS, Classifier
from run_folder import check_finished_run

from .limits import Limits
from .server import bind, create_app, serve

PROG = "python -m serving"


@dataclass
class ServeArguments:
    output_dir: str = field(metadata={"help": "The finished run to serve (run_finetune.py's --output_dir)."})
    backend: str = field(
        default="torch",
        metadata={"help": "torch: the run's model in PyTorch; onnx / onnx-int8: its export (make export).",
                  "choices": list(BACKENDS)},
    )  # fmt: skip
    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on (0.0.0.0: every interface)."})
    port: int = field(default=8000, metadata={"help": "Port to listen on."})
    max_batch: int = field(default=8, metadata={"help": "Texts a model call takes at most (concurrent requests "
                                                         "are grouped up to this)."})  # fmt: skip
    workers: int = field(default=2, metadata={"help": "Model calls that run at once, each on one thread of its own "
                                                      "(1: one call at a time, on every core)."})  # fmt: skip
    max_wait_ms: float = field(default=10.0, metadata={"help": "How long a batch waits at most for more requests, "
                                                               "when more clients are busy than it holds."})  # fmt: skip
    max_texts: int = field(default=64, metadata={"help": "Texts a request may hold at most."})
    max_chars: int = field(default=10_000, metadata={"help": "Characters a text may hold at most."})
    max_body_bytes: int = field(default=1_048_576, metadata={"help": "Bytes a request's body may hold at most."})

    def __post_init__(self):
        for name in ("max_batch", "workers", "max_texts", "max_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} {getattr(self, name)}: must be an integer >= 1")
        if self.max_wait_ms < 0:
            raise ValueError(f"--max_wait_ms {self.max_wait_ms}: must be >= 0")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port {self.port}: must be between 0 and 65535")


def main(argv=None) -> None:
    args = parse_flags(ServeArguments, argv, PROG, __doc__)
    run = Path(args.output_dir)

    ###############
    # Check the run and load its model, then take the port: nothing listens before it can answer
    ###############
    start = time.perf_counter()
    check_finished_run(run, then="serve")
    classifiers = [Classifier(run, args.backend, threads=1 if args.workers > 1 else None) for _ in range(args.workers)]
    sock = bind(args.host, args.port)
    limits = Limits(args.max_texts, args.max_chars, args.max_body_bytes)
    app = create_app(run, classifiers, limits, args.max_batch, args.max_wait_ms / 1000)
    host, port = sock.getsockname()[:2]
    print(f"Serving {run} ({args.backend}, loaded in {time.perf_counter() - start:.1f} s) on http://{host}:{port}: "
          "POST /predict, GET /health, GET /info, the demo page at /", flush=True)  # fmt: skip

    ###############
    # Serve until SIGTERM or Ctrl-C; the requests in flight are answered first
    ###############
    serve(app, sock)
    print("Stopped; every request in flight was answered", flush=True)


if __name__ == "__main__":
    exit_in_one_line(main, PROG)
