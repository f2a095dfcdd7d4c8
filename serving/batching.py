"""Micro-batching: the texts of concurrent requests go through the model together, on worker threads, so that the
event loop keeps reading and answering requests while the model runs."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from inference import Classifier
from training_report import probabilities


class MicroBatcher:
    """Requests queue up while the model runs; a worker's next call takes them together, up to `max_batch` texts.

    Each classifier is a worker with a thread of its own: with two, one call runs while the next batch gathers, and
    each on its own core (a batch of a few short reviews does not keep two cores busy in one call). Before a call,
    the worker waits up to `max_wait_s` for more requests, but only for as many as were open at once while the last
    call ran, less those in other workers' calls: a lone client never waits, and many clients' requests are not
    split into many small calls. Texts are tokenized, cut and padded as `make predict` does (Classifier.logits,
    batches of `max_batch`)."""

    def __init__(self, classifiers: list[Classifier], max_batch: int, max_wait_s: float):
        self.classifiers, self.max_batch, self.max_wait_s = classifiers, max_batch, max_wait_s
        self.executor = ThreadPoolExecutor(len(classifiers), thread_name_prefix="model")
        self.queue: asyncio.Queue = asyncio.Queue()
        self.open = 0  # requests waiting for their answer
        self.running = 0  # requests in a model call
        self.peak = 1  # the most requests open at once since a call last started

    async def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(each text's probability per label, whether it was cut to the run's max length)."""
        future = asyncio.get_running_loop().create_future()
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            self.queue.put_nowait((texts, future))
            return await future
        finally:
            self.open -= 1

    async def collect(self) -> list[tuple[list[str], asyncio.Future]]:
        loop = asyncio.get_running_loop()
        batch = [await self.queue.get()]
        size, expected = len(batch[0][0]), self.peak - self.running
        self.peak = self.open
        deadline = loop.time() + self.max_wait_s
        while size < self.max_batch and (not self.queue.empty() or len(batch) < expected):
            try:
                item = self.queue.get_nowait() if not self.queue.empty() else await asyncio.wait_for(
                    self.queue.get(), deadline - loop.time())
            except TimeoutError:
                break
            batch.append(item)
            size += len(item[0])
        return batch

    async def run(self) -> None:
        """Serve the queue with every worker until cancelled."""
        await asyncio.gather(*(self.work(classifier) for classifier in self.classifiers))

    async def work(self, classifier: Classifier) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.collect()
            texts = [text for item, _ in batch for text in item]
            self.running += len(batch)
            try:
                logits, cut = await loop.run_in_executor(self.executor, partial(classifier.logits, texts,
                                                                                self.max_batch, progress=False))  # fmt: skip
            except Exception as err:  # the batch's requests get it (a server error); the next batch runs  # noqa: BLE001
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            finally:
                self.running -= len(batch)
            scores, start = probabilities(logits), 0
            for item, future in batch:
                if not future.done():  # a client that went away has had its future cancelled
                    future.set_result((scores[start : start + len(item)], cut[start : start + len(item)]))
                start += len(item)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
