"""`make serve` as its clients meet it: a real server process on a free loopback port, serving a tiny run trained and
exported here. /predict against the predict command's own classifier (torch and ONNX), /health, /info; every bad
request on its status and one-sentence message, the server answering a good request after each; SIGTERM during a
request; refusals before the port opens; the demo page in a real headless Chromium (Debian's), and its app.py run as a
Space would run it; the load benchmark's harness."""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pytest

from errors import ProjectError
from inference import Classifier
from inference.export import export_run
from serving.__main__ import ServeArguments
from serving.__main__ import main as serve_main
from training_report import probabilities

from .conftest import ROOT, fingerprints, free_port, predict, short_run, train_run

pytestmark = pytest.mark.slow  # server processes and a browser: make test-fast skips them

ARTIFACTS = ROOT / "outputs" / "test-artifacts"  # the browser's screenshot, kept for a person to look at
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
LISTENING = re.compile(r"on http://([\d.]+):(\d+):")
MAX_BATCH = ServeArguments.__dataclass_fields__["max_batch"].default  # texts a model call takes, by default
LIMITS = ["--max_texts", "64", "--max_chars", "300", "--max_body_bytes", "30000"]
LONG_REVIEW = " ".join(["a gorgeous , witty , seductive movie that never lets its wit get in the way ."] * 3)
EXAMPLE = '{"inputs": "a review"} or {"inputs": ["a review", ...]}'


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir, sst2_dir) -> Path:
    """A tiny run (reviews cut to 32 tokens) and its ONNX export."""
    output_dir = tmp_path_factory.mktemp("serving") / "run"
    train_run(short_run(tiny_model_dir, sst2_dir, output_dir, epochs=1) + ["--save_strategy", "no"])
    export_run(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def reviews(sst2_dir) -> list[str]:
    lines = (sst2_dir / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:61]
    return [line.split("\t")[0] for line in lines] + [LONG_REVIEW]


class Server:
    def __init__(self, process: subprocess.Popen, log: Path, host: str, port: int):
        self.process, self.log, self.host, self.port = process, log, host, port
        self.url = f"http://{host}:{port}"

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, object]:
        """(status, headers, JSON body) of one request on a connection of its own; a body that is neither bytes nor
        a string is sent in chunks, without a Content-Length."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            chunked = not isinstance(body, (bytes, str, type(None)))
            connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), json.loads(response.read())
        finally:
            connection.close()

    def predict(self, inputs) -> tuple[int, dict, object]:
        return self.request("POST", "/predict", json.dumps({"inputs": inputs}))


@contextmanager
def serving(run: Path, backend: str, *flags: str):
    """`python -m serving` on a port the system picks (--port 0, named in its output), once /health answers; SIGTERM
    at the end, exit 0."""
    command = [sys.executable, "-m", "serving", "--output_dir", str(run), "--backend", backend, "--port", "0", *flags]
    log = run.parent / f"server-{backend}-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    try:
        while not (found := LISTENING.search(log.read_text())):
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        server = Server(process, log, found[1], int(found[2]))
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/health", timeout=5) as health:
                    assert json.loads(health.read()) == {"status": "ok"}
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()


@pytest.fixture(scope="module")
def torch_server(run):
    with serving(run, "torch", *LIMITS) as server:
        yield server


def expected(run: Path, backend: str, texts: list[str]) -> tuple[list[list[dict]], np.ndarray]:
    """What make predict's classifier gives in the server's batches (--batch_size 8, by length): every label's score,
    highest first."""
    classifier = Classifier(run, backend)
    logits, cut = classifier.logits(texts, MAX_BATCH, progress=False)
    scores = probabilities(logits)
    return [sorted(({"label": name, "score": float(s)} for name, s in zip(classifier.label_names, row)),
                   key=lambda entry: -entry["score"]) for row in scores], cut  # fmt: skip


def assert_same(answer, wanted) -> None:
    assert [[entry["label"] for entry in text] for text in answer] == [[entry["label"] for entry in text] for text in wanted]
    got = np.array([[entry["score"] for entry in text] for text in answer])
    assert np.abs(got - np.array([[entry["score"] for entry in text] for text in wanted])).max() <= 1e-6


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_predict_answers_what_make_predict_computes_in_the_hubs_shape(run, reviews, torch_server, backend, tmp_path):
    """A list of texts gets pipeline(top_k=None)'s list of lists, a string its flat list; the scores equal the predict
    command's classifier's in the same batches to 1e-6, its labels and rounded probabilities equal the command's output
    (--batch_size as the server's --max_batch); a text cut to the run's 32 tokens is named in a header."""
    with serving(run, backend) if backend != "torch" else nullcontext(torch_server) as server:
        status, headers, answer = server.predict(reviews)
        wanted, cut = expected(run, backend, reviews)
        assert status == 200 and len(answer) == len(reviews) == 61
        assert_same(answer, wanted)
        assert cut[-1] and headers["x-truncated-inputs"] == ",".join(map(str, np.flatnonzero(cut)))  # the long one too
        status, headers, single = server.predict(reviews[0])
        assert status == 200 and "x-truncated-inputs" not in headers
        assert_same([single], wanted[:1])
    (tmp_path / "reviews.txt").write_text("\n".join(reviews) + "\n")
    command = predict("--output_dir", str(run), "--input", str(tmp_path / "reviews.txt"), "--backend", backend,
                      "--batch_size", str(MAX_BATCH))
    rows = [line.split("\t") for line in command.stdout.splitlines()[1:]]
    assert [(label, probability) for _, label, probability, *_ in rows] == [
        (text[0]["label"], f"{text[0]['score']:.4f}") for text in answer]  # fmt: skip


def test_health_and_info_name_the_run_without_a_machines_path(torch_server, run, tiny_model_dir):
    assert torch_server.request("GET", "/health")[::2] == (200, {"status": "ok"})
    status, _, info = torch_server.request("GET", "/info")
    assert status == 200 and info == {"run": "run", "model": tiny_model_dir.name, "labels": ["negative", "positive"],
                                      "backend": "torch", "max_length": 32, "version": "0.1.0"}  # fmt: skip
    assert not any("/" in str(value) for value in info.values())


def chunks(*parts: bytes):
    yield from parts


BAD_REQUESTS = [
    ("not JSON", b"a gorgeous movie", None, 400, f"the body is not JSON (Expecting value); send {EXAMPLE}"),
    ("not UTF-8", b'{"inputs": "caf\xe9"}', None, 400, f"the body is not JSON (not UTF-8); send {EXAMPLE}"),
    ("empty body", b"", None, 400, f"the body is not JSON (Expecting value); send {EXAMPLE}"),
    ("a list", b'["a review"]', None, 422, f"the body is a list; send {EXAMPLE}"),
    ("no inputs", b'{"text": "a review"}', None, 422, f"the body is an object without inputs; send {EXAMPLE}"),
    ("another field", b'{"inputs": "a review", "parameters": {"top_k": 1}}', None, 422,
     "unknown field \"parameters\": a request holds only inputs (every label's score is always returned, highest first)"),
    ("a number", b'{"inputs": 3}', None, 422, "inputs is a number; send a string or a list of strings"),
    ("null", b'{"inputs": null}', None, 422, "inputs is null; send a string or a list of strings"),
    ("a number in the list", b'{"inputs": ["a review", 3]}', None, 422, "inputs[1] is a number; send a string"),
    ("an empty list", b'{"inputs": []}', None, 422, "inputs is an empty list; send at least one text"),
    ("an empty text", b'{"inputs": ""}', None, 422,
     "inputs is empty; send a text with at least one character that is not a space"),
    ("a blank text in the list", b'{"inputs": ["a review", " \\t "]}', None, 422,
     "inputs[1] is empty; send a text with at least one character that is not a space"),
    ("too many texts", json.dumps({"inputs": ["a review"] * 65}).encode(), None, 422,
     "inputs holds 65 texts, over the limit of 64 a request; send them in several requests"),
    ("too long a text", json.dumps({"inputs": ["a review", "a" * 301]}).encode(), None, 422,
     ("inputs[1] is 301 characters long, over the limit of 300; shorten it (texts are cut to the run's max length in "
      "tokens anyway)")),
    ("too large a body", json.dumps({"inputs": "a" * 30_000}).encode(), None, 413,
     "the body is over 30000 bytes; send at most 64 texts of at most 300 characters in a request"),
    ("too large a body, streamed", None, [b'{"inputs": "', b"a" * 20_000, b"a" * 20_000, b'"}'], 413,
     "the body is over 30000 bytes; send at most 64 texts of at most 300 characters in a request"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "parts", "status", "message"), [case[1:] for case in BAD_REQUESTS],
                         ids=[case[0] for case in BAD_REQUESTS])  # fmt: skip
def test_a_bad_request_gets_its_status_and_one_sentence_and_the_server_goes_on(torch_server, body, parts, status, message):
    """Streamed: chunked, with no Content-Length, refused as it arrives."""
    got = torch_server.request("POST", "/predict", chunks(*parts) if parts else body)
    assert got[0] == status and got[2] == {"error": message} and got[1]["content-type"] == "application/json"
    assert "\n" not in message and message.count(";") <= 1
    status, _, answer = torch_server.predict(["a gorgeous, witty, seductive movie."])
    assert status == 200 and [entry["label"] for entry in answer[0]] in (["positive", "negative"], ["negative", "positive"])


def test_concurrent_requests_are_answered_each_with_its_own_scores(torch_server, run, reviews):
    """Requests sent together are batched; each gets the scores of its own texts, as alone."""
    wanted, _ = expected(run, "torch", reviews)
    answers = [None] * 24

    def ask(i):
        answers[i] = torch_server.predict([reviews[i], reviews[i + 30]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, (status, _, answer) in enumerate(answers):
        assert status == 200
        got = np.array([[entry["score"] for entry in text] for text in answer])
        want = np.array([[entry["score"] for entry in wanted[j]] for j in (i, i + 30)])
        assert np.abs(got - want).max() < 1e-5  # padded with other requests' texts: equal to float rounding


def test_sigterm_during_a_request_answers_it_then_exits_0(run):
    """The request's body is still arriving when SIGTERM comes: it is answered, then the server exits with 0."""
    with serving(run, "onnx-int8") as server:
        answer = {}

        def slow_body():
            yield b'{"inputs": ["a gorgeous, witty, '
            time.sleep(1.5)
            yield b'seductive movie."]}'

        asking = threading.Thread(target=lambda: answer.update(got=server.request("POST", "/predict", slow_body())))
        asking.start()
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        asking.join(timeout=60)
        assert server.process.wait(timeout=60) == 0
        assert answer["got"][0] == 200 and len(answer["got"][2][0]) == 2
        assert server.log.read_text().strip().endswith("Stopped; every request in flight was answered")


def test_a_run_that_cannot_be_served_is_refused_before_the_port_opens(run, tmp_path):
    """One line each, nothing listening; the command-line form without a traceback. The run folder is only read."""
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished, ignore=shutil.ignore_patterns("onnx", "all_results.json"))
    port = free_port()
    refusals = {
        (str(unfinished), "torch"): f"{unfinished}: the run is unfinished (no all_results.json); rerun its training "
                                    "command to finish it (it resumes from its last checkpoint), then serve",
        (str(tmp_path / "none"), "torch"): f"{tmp_path / 'none'}: run folder not found; pass the --output_dir of a "
                                           "finished run_finetune.py run",
    }  # fmt: skip
    before = fingerprints(run)
    with_export_removed = tmp_path / "not-exported"
    shutil.copytree(run, with_export_removed, ignore=shutil.ignore_patterns("onnx"))
    refusals[(str(with_export_removed), "onnx-int8")] = (f"{with_export_removed}/onnx/model_quantized.onnx: not found; "
                                                        f"export the run first: make export OUTPUT_DIR={with_export_removed}")  # fmt: skip
    for (folder, backend), message in refusals.items():
        with pytest.raises(ProjectError) as refused:
            serve_main(["--output_dir", folder, "--backend", backend, "--port", str(port)])
        assert str(refused.value) == message
        with pytest.raises(ConnectionRefusedError):
            http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()
    with pytest.raises(ProjectError, match=r"^--max_batch 0: must be an integer >= 1$"):
        serve_main(["--output_dir", str(run), "--max_batch", "0"])
    taken = subprocess.run([sys.executable, "-m", "serving", "--output_dir", str(unfinished)], capture_output=True,
                           text=True, cwd=ROOT)  # fmt: skip
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    assert taken.stderr.strip().splitlines()[-1] == f"python -m serving: error: {refusals[(str(unfinished), 'torch')]}"
    assert fingerprints(run) == before


def test_the_demo_page_in_a_real_browser_shows_the_label(torch_server, run, tmp_path):
    """Debian's Chromium, headless, driven by Playwright: open /, type a review, submit, read the label shown. The
    screenshot is kept in outputs/test-artifacts/."""
    from playwright.sync_api import sync_playwright

    review = "a gorgeous, witty, seductive movie."
    (wanted,), _ = expected(run, "torch", [review])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(torch_server.url + "/")
            page.get_by_label("Review").fill(review)
            page.get_by_role("button", name="Submit").click()
            shown = page.get_by_test_id("label-output-value")
            shown.wait_for(timeout=30_000)
            page.get_by_text(f"{round(100 * wanted[1]['score'])}%").wait_for(timeout=30_000)
            page.screenshot(path=ARTIFACTS / "serving-demo.png", full_page=True)
            assert shown.inner_text() == wanted[0]["label"]
            examples = (run / "eval_misclassified.tsv").read_text(encoding="utf-8").splitlines()[1:3]
            for example in examples:  # the run's mistakes are the examples (long ones shown cut: their start)
                assert page.get_by_text(example.split("\t")[0][:30]).count() == 1
        finally:
            browser.close()


def test_app_py_runs_as_a_space_unchanged(run, tmp_path):
    """A Space runs `python app.py` beside the model's files: the same file, copied beside a copy of the run, serves
    the page on Gradio's own server, whose API answers with the label pipeline gives."""
    space = tmp_path / "space"
    shutil.copytree(run, space, ignore=shutil.ignore_patterns("onnx"))
    shutil.copy(ROOT / "serving" / "app.py", space / "app.py")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("PYTHONPATH", None)
    log = tmp_path / "space.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=space, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/call/predict"
        body = json.dumps({"data": ["a gorgeous, witty, seductive movie."]}).encode()
        while True:
            try:
                request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    event = json.loads(response.read())["event_id"]
                break
            except urllib.error.HTTPError as err:
                raise AssertionError(log.read_text()) from err
            except OSError:  # not listening yet
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
        with urllib.request.urlopen(f"{url}/{event}", timeout=60) as response:
            stream = response.read().decode()
        (wanted,), _ = expected(run, "torch", ["a gorgeous, witty, seductive movie."])
        result = json.loads(stream.split("event: complete\ndata: ")[1].splitlines()[0])[0]
        assert result["label"] == wanted[0]["label"]
        assert {c["label"]: c["confidence"] for c in result["confidences"]} == pytest.approx(
            {entry["label"]: entry["score"] for entry in wanted}, abs=1e-6)
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_bench_serve_measures_each_backend_and_number_of_clients(run, sst2_dir, tmp_path):
    """The harness end to end on the tiny run (a check, not a timing): wrk against a real server per backend."""
    report = tmp_path / "serve.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.bench_serve", "--output_dir", str(run), "--file",
                             str(sst2_dir / "dev.tsv"), "--concurrency", "1", "4", "--duration", "1", "--json",
                             str(report)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    from benchmarks import results, tables

    document = json.loads(report.read_text())
    assert results.problems(document) == [] and document["kind"] == "http" and document["reviews"] == 872
    assert [(row["backend"], row["concurrency"], row["errors"]) for row in document["rows"]] == [
        ("onnx-int8", 1, 0), ("onnx-int8", 4, 0), ("torch", 1, 0), ("torch", 4, 0)]
    assert all(row["requests_per_s"] > 0 and 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] for row in document["rows"])
    assert set(document["in_process"]) == {"onnx-int8", "torch"}
    assert "| onnx-int8 | 4 | " in result.stdout and f"Results (JSON): {report}" in result.stdout
    table = tables.http_serving([document | {"file": report.name}])
    assert "| `torch` | 4 | " in table and "- 0 errors at every concurrency: met." in table
