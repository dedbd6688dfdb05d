"""The task queue's Redis broker: a task queued from a request (over the
thread's own connection) is the package the cluster reads, and a queue push
after Redis dropped that connection still lands, once."""

import os
import uuid

import pytest
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from levqor.lib import qbroker, redisline

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis broker needs Redis")


@pytest.fixture
def broker(settings):
    broker = qbroker.PooledRedis(list_key=f"levqor-test-{uuid.uuid4().hex}")
    yield broker
    broker.delete_queue()


def test_a_queued_task_is_the_package_the_cluster_reads(broker):
    task_id = async_task("math.copysign", 2, -1, broker=broker, sync=False, task_name="copysign-for-a-test")
    assert broker.queue_size() == 1
    [(_ack, package)] = broker.dequeue()
    task = SignedPackage.loads(package)
    assert (task["id"], task["name"], task["func"], task["args"]) == (
        task_id,
        "copysign-for-a-test",
        "math.copysign",
        (2, -1),
    )
    assert broker.queue_size() == 0


def test_a_push_after_redis_dropped_the_threads_connection_lands_once(broker):
    broker.enqueue(b"first")
    client = broker.connection
    line = redisline.thread_line(client, lambda: client.connection_pool)
    own_id = line.command("CLIENT", "ID")
    assert client.client_kill_filter(_id=own_id) == 1
    broker.enqueue(b"second")
    assert client.lrange(broker.list_key, 0, -1) == [b"first", b"second"]
    assert line.command("CLIENT", "ID") != own_id  # reconnected
