"""A thread's own Redis connection, for the commands a request waits on.

redis-py's client takes a connection from its pool for each command, wraps
the command in its retry and observability layers and gives the connection
back: on this stack about 75 µs of CPU a command, as much as the round
trip's own system calls. A request that sends one command (the API's
metering script, the task queue's push of a Stripe event) pays that on
every call. A `Line` is one connection, made like a pool's, that one thread
keeps and sends on directly: hiredis packs the command in C, the reply is
read as the client reads it, and a connection error (a kept connection
Redis closed while idle, or a restart) disconnects, reconnects and sends
the command once more, as the client's own retry does. Any other failure
half way drops the connection, so a reply is never read out of step.

`thread_line(owner, pool)` gives the calling thread its line for `owner`
(the object the pool belongs to, e.g. the cache backend), made again when
the owner changes (settings changed, as in tests) or in a forked child. So
a web host holds one connection per serving thread and owner, besides the
pools.
"""

import os
import threading

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:  # hiredis packs a command in C; redis-py's own packer wraps it in Python per argument
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - hiredis is in requirements.txt
    _pack = None

# Forks that led to this process (each child counts one more): a forked child
# makes its own lines, told apart without a getpid() system call per call.
forks = [0]
os.register_at_fork(after_in_child=lambda: forks.__setitem__(0, forks[0] + 1))

_shas: dict[str, str] = {}  # script source -> its SHA1, loaded on first use
_lines = threading.local()


class Line:
    __slots__ = ("owner", "forks", "connection")

    def __init__(self, owner, pool):
        self.owner = owner
        self.forks = forks[0]
        self.connection = pool.connection_class(**pool.connection_kwargs)

    def command(self, *args):
        connection = self.connection
        packed = connection.pack_command(*args) if _pack is None else [_pack(args)]
        try:
            try:
                connection.send_packed_command(packed)
                return connection.read_response()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                connection.send_packed_command(packed)
                return connection.read_response()
        except ResponseError:
            raise  # an error reply, read in full: the connection is still in step
        except BaseException:
            connection.disconnect()  # whatever was half sent or read is dropped with it
            raise

    def run(self, source: str, keys: list, args: list):
        """EVALSHA of the Lua `source`, loading it once if Redis lacks it."""
        sha = _shas.get(source)
        if sha is not None:
            try:
                return self.command("EVALSHA", sha, len(keys), *keys, *args)
            except NoScriptError:
                pass
        sha = self.command("SCRIPT", "LOAD", source)
        sha = _shas[source] = sha.decode() if isinstance(sha, bytes) else sha
        return self.command("EVALSHA", sha, len(keys), *keys, *args)


def thread_line(owner, pool) -> Line:
    """The calling thread's line for `owner`, made from `pool` (a callable
    giving the redis-py connection pool to copy) when there is none yet."""
    lines = _lines.__dict__
    current = lines.get(id(owner))
    if current is None or current.owner is not owner or current.forks != forks[0]:
        if len(lines) >= 8:  # owners replaced over time (tests' settings): let their lines go
            lines.clear()
        current = lines[id(owner)] = Line(owner, pool())
    return current
