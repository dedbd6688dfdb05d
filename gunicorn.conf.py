"""How gunicorn serves the console. gunicorn reads this file from the
working directory (`gunicorn levqor.wsgi:application --workers N`, run from
the project root), and `make bench` serves both the console and the bare
Django ceiling with it (bench/lib.py), so every ratio is taken under these
settings.

Threaded workers: each process serves `threads` requests at once. A request
that waits on the database, above all Stripe's webhook acknowledgement
(which waits for a durable commit, milliseconds of fsync), no longer holds
a whole process, and PostgreSQL's group commit flushes the commits of the
acknowledgements in flight with one WAL write, so they share its cost.
Django keeps a database connection per thread (CONN_MAX_AGE, checked before
reuse: CONN_HEALTH_CHECKS), so a web host holds up to workers × threads
connections: keep that, with the task queue's, within PostgreSQL's
max_connections.

Two threads by default (`LEVQOR_WEB_THREADS`). Every thread shares its
process's GIL: a request that waits on Redis or PostgreSQL mid-way hands the
GIL over and must win it back, and with more threads that handover happens
more often (measured under wrk: 14 context switches per metered API call
with 4 threads, against 4 per bare-Django request). With 2 threads the
metered API read gained about a twentieth and the status page's slowest
answers halved, and Stripe's acknowledgements, queued by a batcher thread
since, lost nothing (README, Benchmarks). Raise it for pages that wait
long on another service (Stripe Checkout and portal sessions are created
in the request): each such wait holds a thread.

At most `threads + 1` connections a worker (`LEVQOR_WEB_CONNECTIONS`;
gunicorn's `worker_connections`, 1,000 by default): a worker takes a new
connection only when it can serve it at once or next, and the rest wait in
the listening socket's queue, in arrival order, for whichever worker frees
up first. With gunicorn's default a worker accepted every connection it
could and queued them behind its own threads while the other worker had
room, so a request's wait depended on which worker took it: under wrk the
slowest answers (p99) of Stripe's acknowledgements fell from 46-58 ms to
29-43 ms and of the metered API read from 62 to 44 ms, and every ratio
rose or held (README, Benchmarks). A connection still being read counts,
so this relies on the proxy in front buffering each request before it
connects (nginx does by default): slow clients then hold the proxy, not a
worker.

keepalive 0: a connection per request, as with sync workers; the
TLS-terminating proxy in front keeps the clients' connections.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("LEVQOR_WEB_THREADS", "2"))
keepalive = 0
worker_connections = int(os.environ.get("LEVQOR_WEB_CONNECTIONS", threads + 1))
