"""Micro-batching: the texts of concurrent requests go through the model together, one model call at a time, on a
worker thread of its own, so that the event loop keeps reading and answering requests while the model runs."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from inference import Classifier
from training_report import probabilities


class MicroBatcher:
    """Requests queue up while the model runs; the next call takes them together, up to `max_batch` texts.

    Before a call, the batcher waits up to `max_wait_s` for more requests, but only for as many as were open at once
    while the last call ran: a lone client never waits, and many clients' requests are not split into many calls.
    Texts are tokenized, cut and padded as `make predict` does (Classifier.logits, batches of `max_batch`)."""

    def __init__(self, classifier: Classifier, max_batch: int, max_wait_s: float):
        self.classifier, self.max_batch, self.max_wait_s = classifier, max_batch, max_wait_s
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.queue: asyncio.Queue = asyncio.Queue()
        self.open = 0  # requests waiting for their answer
        self.peak = 1  # the most requests open at once since the last call started

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
        size, expected = len(batch[0][0]), self.peak
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
        """Serve the queue until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.collect()
            texts = [text for item, _ in batch for text in item]
            try:
                logits, cut = await loop.run_in_executor(self.executor, partial(self.classifier.logits, texts,
                                                                                self.max_batch, progress=False))  # fmt: skip
            except Exception as err:  # the batch's requests get it (a server error); the next batch runs  # noqa: BLE001
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            scores, start = probabilities(logits), 0
            for item, future in batch:
                if not future.done():  # a client that went away has had its future cancelled
                    future.set_result((scores[start : start + len(item)], cut[start : start + len(item)]))
                start += len(item)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
