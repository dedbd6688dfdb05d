"""django-q2's Redis broker, keeping one Redis client per process.

django-q2 builds a broker for every `async_task`, and its Redis broker a new
client with a new connection pool: each task queued from a web request paid
a TCP connect and the connection handshake (CLIENT SETINFO, SELECT, which
also reads the redis package's metadata from disk) before its one RPUSH.
Here the client, and so its pool of open connections, is kept per process
(redis-py's pool notices a fork and starts afresh in the child). The client
is shared by the threads of a threaded web worker (gunicorn.conf.py): its
pool hands each command its own connection, so that is safe; a lock makes
the first requests of a process build one client, not one each.

Queueing a task (`enqueue`, the RPUSH every `async_task` ends with, e.g.
for each Stripe delivery acknowledged) goes over the calling thread's own
connection (`levqor.lib.redisline`), made like that client's pool's: the
client's pool, retry and observability layers cost as much CPU as the
round trip itself. Everything else (the cluster's reads) uses the client.
"""

import threading

import redis
from django_q.brokers import redis_broker
from django_q.conf import Conf

from levqor.lib import redisline

_clients: dict[str, redis.Redis] = {}
_creating = threading.Lock()


class PooledRedis(redis_broker.Redis):
    @staticmethod
    def get_connection(list_key: str | None = None) -> redis.Redis:
        url = Conf.REDIS
        client = _clients.get(url)
        if client is None:
            with _creating:
                client = _clients.get(url)
                if client is None:
                    client = _clients[url] = redis.from_url(url)
        return client

    def enqueue(self, task):
        client = self.connection
        return redisline.thread_line(client, lambda: client.connection_pool).command("RPUSH", self.list_key, task)
