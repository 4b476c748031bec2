"""One helper thread and a bounded queue: how file streams overlap pure Python with crypto and I/O.

An upload's multipart parsing and a download's socket writes run in the request's thread;
hashing, AES-GCM and blob reads and writes release the GIL, so on two cores a helper thread
doing them costs almost nothing next to the rest. Both directions use one ``Pipe``:

- ``ahead`` (downloads, packs): the helper produces, the request's thread consumes;
- ``Behind`` (uploads): the request's thread produces, the helper consumes.

At most ``depth`` items wait in the pipe, so memory stays bounded whichever side is slower. An
error on the helper's side reaches the request's thread, never lost; a side that stops early
(the client went away, encryption failed) stops the other at its next hand-off.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

#: How long a blocked ``send`` waits before it looks again whether the receiver has stopped.
_RECHECK_SECONDS = 0.5


class _End:
    """What ``close`` sends: the end of the items, or the error that ended them."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Pipe(Generic[T]):
    """A bounded queue from a sending thread to a receiving one.

    ``send`` blocks while ``depth`` items wait and answers False once the receiver has stopped;
    the receiver iterates until the sender closes the pipe, and a ``close`` with an error raises
    it in the receiver after every item sent before it.
    """

    def __init__(self, depth: int) -> None:
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()

    def send(self, item: T | _End) -> bool:
        while not self._stopped.is_set():
            try:
                self._items.put(item, timeout=_RECHECK_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def close(self, error: BaseException | None = None) -> None:
        self.send(_End(error))

    def stop(self) -> None:
        """The receiver will take nothing more: a blocked or later ``send`` answers False."""
        self._stopped.set()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item


def grouped(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """``chunks`` joined into pieces of at least ``size`` bytes (the last may be smaller)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def ahead(chunks: Iterator[bytes], group_size: int, depth: int, name: str) -> Iterator[bytes]:
    """``chunks`` regrouped into ``group_size`` pieces, read by a helper thread while the caller
    consumes the pieces before (a generator: the thread starts at the first read).

    Errors reach the caller in order, after every good piece before them; a caller that stops
    early (closes the generator) stops the thread, which then closes ``chunks``.
    """
    pipe: Pipe[bytes] = Pipe(depth)

    def produce() -> None:
        try:
            for piece in grouped(chunks, group_size):
                if not pipe.send(piece):
                    return
            pipe.close()
        except BaseException as exc:  # handed to the consumer, which raises it
            pipe.close(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        yield from pipe
    finally:
        pipe.stop()


class Behind(Generic[T]):
    """Runs ``consume`` on each item ``put`` in a helper thread, while the caller produces the next.

    ``put`` raises the helper's error, if any, instead of handing on more. Leaving the ``with``
    block waits for the helper to finish what it holds; its error, if any, is raised there (unless
    the block is already leaving with an error of its own).
    """

    def __init__(self, consume: Callable[[T], None], depth: int, name: str) -> None:
        self._consume = consume
        self._pipe: Pipe[T] = Pipe(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            for item in self._pipe:
                self._consume(item)
        except BaseException as exc:  # raised again in the caller's thread
            self._error = exc
            self._pipe.stop()

    def __enter__(self) -> Behind[T]:
        self._thread.start()
        return self

    def put(self, item: T) -> None:
        if self._error is not None or not self._pipe.send(item):
            assert self._error is not None
            raise self._error

    def __exit__(self, *exc: object) -> None:
        self._pipe.close()
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error
