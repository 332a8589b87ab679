"""Reading Arrow record batches one step ahead of their consumer, in a thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa


def prefetch(reader: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read the next batches in a thread while the caller converts and writes the current one.

    Arrow's reader and the Parquet writer release the GIL, so decoding COPY data and encoding Parquet overlap.
    Memory stays bounded by `depth` batches. On exit the thread is joined before the caller can close the
    connection the reader streams from.
    """
    batches: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def pump() -> None:
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        batches.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = done
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            item = exc
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=pump, name="pg-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
