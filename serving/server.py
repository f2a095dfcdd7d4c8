"""The server: POST /predict in the Hub's text-classification format ({"inputs": ...} in, `pipeline(...,
top_k=None)`'s answer out), GET /health, GET /info and the demo page at /, on FastAPI and uvicorn."""

import asyncio
import json
import signal
import socket
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import gradio as gr
import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from errors import ProjectError
from inference import Classifier
from run_folder import CARD_INPUTS

from .app import demo, examples
from .batching import MicroBatcher
from .limits import Limits, RequestError

DISTRIBUTION = "sst2-finetune"
GRACE_S = 10  # on SIGTERM: how long requests in flight (and the demo page's open streams) get to finish
TRUNCATED_HEADER = "X-Truncated-Inputs"  # the positions of the texts cut to the run's max length, when any were


def run_info(run: Path, classifier: Classifier) -> dict:
    """What GET /info says: names, never a machine's path (the base model as the run's card names it)."""
    card = run / CARD_INPUTS
    base = json.loads(card.read_text(encoding="utf-8")).get("base_name") if card.is_file() else None
    return {"run": run.resolve().name, "model": base, "labels": classifier.label_names, "backend": classifier.backend,
            "max_length": classifier.max_length, "version": version(DISTRIBUTION)}  # fmt: skip


def ranked(scores: np.ndarray, label_names: list[str]) -> list[dict]:
    """One text's labels with their scores, highest first, as `pipeline(..., top_k=None)` gives them."""
    return [{"label": label_names[i], "score": float(scores[i])} for i in np.argsort(-scores, kind="stable")]


async def read_body(request: Request, limits: Limits) -> bytes:
    """The body, refused as soon as it is known to be over the limit (by its Content-Length, or as it arrives)."""
    length = request.headers.get("content-length", "")
    if length.isdigit():
        limits.check_size(int(length))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        limits.check_size(len(body))
    return bytes(body)


def create_app(run: Path, classifiers: list[Classifier], limits: Limits, max_batch: int, max_wait_s: float) -> FastAPI:
    classifier = classifiers[0]  # the run's labels and settings, the same in each

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.batcher = MicroBatcher(classifiers, max_batch, max_wait_s)
        task = asyncio.create_task(app.state.batcher.run())
        yield
        task.cancel()
        app.state.batcher.close()

    app = FastAPI(title=f"{run.resolve().name}: sentiment", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    info = run_info(run, classifier)

    @app.exception_handler(RequestError)
    async def refused(request: Request, err: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=err.status)

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        texts, single = limits.texts(await read_body(request, limits))
        scores, cut = await app.state.batcher.predict(texts)
        answers = [ranked(row, classifier.label_names) for row in scores]
        headers = {TRUNCATED_HEADER: ",".join(map(str, np.flatnonzero(cut)))} if cut.any() else None
        return JSONResponse(answers[0] if single else answers, headers=headers)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}  # the model loads before the port opens

    @app.get("/info")
    async def get_info() -> dict:
        return info

    async def classify(text: str) -> dict[str, float]:
        try:
            limits.check_text(text, "the review")
        except RequestError as err:
            raise gr.Error(str(err)) from None
        scores, _ = await app.state.batcher.predict([text])
        return {label: float(score) for label, score in zip(classifier.label_names, scores[0])}

    page = demo(classify, examples(run), info["run"])
    return gr.mount_gradio_app(app, page, path="/", ssr_mode=False, footer_links=[])


def bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound now so that a taken port is said in one line; it listens once the server starts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ProjectError(f"--host {host} --port {port}: cannot listen there ({err.strerror}); pass another --port") from None
    return sock


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve until SIGTERM or Ctrl-C, then answer the requests in flight and return."""
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning", access_log=False,
                            timeout_graceful_shutdown=GRACE_S)  # fmt: skip
    # uvicorn raises the signal it stopped on again once it has shut down gracefully; a stop is this server's
    # normal end (exit 0), so that second signal is ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    uvicorn.Server(config).run(sockets=[sock])
