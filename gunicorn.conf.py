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

keepalive 0: a connection per request, as with sync workers; the
TLS-terminating proxy in front keeps the clients' connections.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("LEVQOR_WEB_THREADS", "2"))
keepalive = 0
