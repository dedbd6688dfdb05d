"""The batcher: what requests add reaches the sender once, in batches, from
its own thread; a failing send loses only its batch; what waits at exit or
across a fork is neither lost nor sent twice."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from levqor.lib.batcher import Batcher


class Recorder:
    def __init__(self, *, gate: threading.Event | None = None, fail_first: bool = False):
        self.batches: list[list] = []
        self.threads: set[str] = set()
        self.gate = gate
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def __call__(self, batch):
        if self.gate is not None:
            self.gate.wait(10)
        with self._lock:
            self.threads.add(threading.current_thread().name)
            if self.fail_first and not self.batches:
                self.batches.append([])
                raise RuntimeError("the broker is down")
            self.batches.append(list(batch))

    @property
    def sent(self) -> list:
        return [item for batch in self.batches for item in batch]


def test_items_added_by_many_threads_are_each_sent_once_in_batches():
    sent = Recorder()
    batcher = Batcher(sent, name="test-batches", max_items=7, linger=0.002)

    def add(start):
        for i in range(start, start + 300):
            batcher.add(i)

    adders = [threading.Thread(target=add, args=(n * 1000,)) for n in range(6)]
    for thread in adders:
        thread.start()
    for thread in adders:
        thread.join()
    assert batcher.flush(10)
    assert sorted(sent.sent) == sorted(n * 1000 + i for n in range(6) for i in range(300))
    assert max(len(batch) for batch in sent.batches) <= 7
    assert len(sent.batches) < 1800 / 2  # batched, not one call an item


def test_a_lone_item_goes_from_the_batchers_own_thread_without_a_flush():
    gate = threading.Event()
    sent = Recorder()
    batcher = Batcher(lambda batch: (sent(batch), gate.set()), name="test-lone", linger=0.005)
    batcher.add("only")
    assert gate.wait(5)  # sent without anyone calling flush
    assert sent.batches == [["only"]]
    assert sent.threads == {"test-lone"}  # not the adding (request) thread


def test_the_adder_returns_before_the_send_finishes():
    gate = threading.Event()
    sent = Recorder(gate=gate)
    batcher = Batcher(sent, name="test-slow-send", linger=0)
    batcher.add(1)
    batcher.add(2)  # a slow send holds neither adder
    assert sent.batches == []
    gate.set()
    assert batcher.flush(5)
    assert sorted(sent.sent) == [1, 2]


def test_a_failing_send_is_logged_and_loses_only_its_batch(caplog):
    sent = Recorder(fail_first=True)
    batcher = Batcher(sent, name="test-failing", linger=0)
    batcher.add("lost")
    assert batcher.flush(5)
    batcher.add("later")
    assert batcher.flush(5)
    assert sent.sent == ["later"]
    assert "test-failing: could not send 1 item(s)" in caplog.text
    assert "the broker is down" in caplog.text


def test_a_flush_sends_what_waits_even_while_the_thread_lingers():
    sent = Recorder()
    batcher = Batcher(sent, name="test-flush", linger=30)  # the thread would wait half a minute
    for i in range(5):
        batcher.add(i)
    assert batcher.flush(5)
    assert sent.sent == [0, 1, 2, 3, 4]


def test_items_waiting_when_the_process_exits_are_sent_once(tmp_path):
    out = tmp_path / "sent.txt"
    script = textwrap.dedent(
        f"""
        from levqor.lib.batcher import Batcher

        def send(batch):
            with open({str(out)!r}, "a") as f:
                f.write(" ".join(map(str, batch)) + "\\n")

        batcher = Batcher(send, name="exit", max_items=3, linger=30)
        for i in range(8):
            batcher.add(i)
        # no flush: the interpreter exits with the items waiting
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    batches = [line.split() for line in out.read_text().splitlines()]
    assert sorted(int(i) for batch in batches for i in batch) == list(range(8))
    assert all(len(batch) <= 3 for batch in batches)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_sends_its_own_items_not_the_parents():
    sent = Recorder(gate=threading.Event())  # the parent's send waits: its items stay in hand
    batcher = Batcher(sent, name="test-fork", linger=0)
    batcher.add("parent")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            child_sent = []
            batcher.send = child_sent.extend
            batcher.add("child")
            batcher.flush(5)
            os.write(write, ",".join(child_sent).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        assert pipe.read() == "child"
    os.waitpid(pid, 0)
    sent.gate.set()
    assert batcher.flush(5)
    assert sent.sent == ["parent"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the point
def test_a_thread_that_died_is_replaced_by_the_next_add():
    sent = Recorder()
    stop = {"once": True}

    def send(batch):
        if stop.pop("once", False):
            raise SystemExit  # not an Exception: the thread ends, as a thread killed by anything else would
        sent(batch)

    batcher = Batcher(send, name="test-died", linger=0)
    batcher.add("first")
    batcher._thread.join(5)
    assert not batcher._thread.is_alive()
    batcher.add("second")
    assert batcher.flush(5)
    assert sent.sent == ["second"]  # "first" went down with its thread; its durable record is the retry
