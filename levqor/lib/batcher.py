"""Hand items to a sender in batches, from one background thread per process.

For work a request triggers but need not wait for, whose every item is also
recorded durably elsewhere, so an item lost with a dying process is found
again by a sweep: queueing the processing of a stored Stripe event is the
case (`billing.intake`). A request `add`s its item and returns; the
process's sender thread takes what has gathered (waiting `linger` seconds
after the first item, so a burst goes as one batch) and calls `send(batch)`
with at most `max_items`. Under load one `send` serves many requests; a
lone item still goes at once, `linger` later.

`send` runs outside any request, on the thread's own database connection if
it uses one. An exception from it is logged and the batch dropped: the
durable records are the retry. Items still waiting when the interpreter
exits are sent by an `atexit` hook (a gunicorn worker's graceful exit). A
forked child starts with nothing waiting and its own thread.

`flush(timeout)` sends what is waiting at once and waits for what the thread
has in hand (tests, shutdown).
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Batcher:
    def __init__(self, send: Callable[[list], None], *, name: str, max_items: int = 20, linger: float = 0.005):
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.send = send
        self.name = name
        self.max_items = max_items
        self.linger = linger
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush, 5.0)

    def _reset(self) -> None:
        # In a forked child the parent's thread does not exist and its lock
        # may have been held at the fork: start afresh.
        self._ready = threading.Condition(threading.Lock())
        self._items: list = []
        self._in_flight = 0
        self._thread: threading.Thread | None = None

    def add(self, item) -> None:
        with self._ready:
            self._items.append(item)
            if self._thread is None or not self._thread.is_alive():  # first use, or the thread died
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif len(self._items) == 1:
                self._ready.notify()

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is waiting, here and now, then wait until every batch
        the thread has in hand is sent too. True when done within `timeout`
        seconds."""
        with self._ready:
            items, self._items = self._items, []
            self._in_flight += len(items)
        try:
            for start in range(0, len(items), self.max_items):
                self._send_one(items[start : start + self.max_items])
        finally:
            with self._ready:
                self._in_flight -= len(items)
                self._ready.notify_all()
        with self._ready:
            return self._ready.wait_for(lambda: not self._items and not self._in_flight, timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._items)
            if self.linger:
                time.sleep(self.linger)
            with self._ready:
                batch = self._items[: self.max_items]
                del self._items[: self.max_items]
                self._in_flight += len(batch)
            try:
                if batch:  # a flush may have taken them meanwhile
                    self._send_one(batch)
            finally:
                with self._ready:
                    self._in_flight -= len(batch)
                    self._ready.notify_all()

    def _send_one(self, batch: list) -> None:
        try:
            self.send(batch)
        except Exception:
            logger.exception("%s: could not send %d item(s); their sweep will find them", self.name, len(batch))
