"""Start the web server and a django-q2 cluster together (for `make run`).

Prints the URLs and the admin login, then runs until Ctrl-C (or SIGTERM),
which stops both. If either process exits, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time

HOST = os.environ.get("LEVQOR_HOST", "127.0.0.1")
PORT = os.environ.get("LEVQOR_PORT", "8000")


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def main() -> int:
    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("LEVQOR_BASE_URL", f"http://{HOST}:{PORT}")
    # Each child in its own process group, so terminating them reaches the
    # runserver's autoreloader child and the cluster's workers too.
    web = subprocess.Popen([python, "manage.py", "runserver", f"{HOST}:{PORT}"], env=env, start_new_session=True)
    worker = subprocess.Popen([python, "manage.py", "qcluster"], env=env, start_new_session=True)
    base = f"http://{HOST}:{PORT}"
    admin_email = os.environ.get("LEVQOR_ADMIN_EMAIL", "admin@levqor.local")
    admin_password = os.environ.get("LEVQOR_ADMIN_PASSWORD", "levqor-demo-admin")
    print(
        "\n"
        f"  Levqor console:  {base}/\n"
        f"  Pricing:         {base}/pricing\n"
        f"  Customer sign-in: {base}/login   (magic links are printed in this console)\n"
        f"  Admin:           {base}/admin/   login {admin_email} / {admin_password}\n"
        "  Task queue:      django-q2 cluster running beside the web server\n"
        "  Stop with Ctrl-C.\n",
        flush=True,
    )
    processes = [web, worker]
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    # SIGTERM (CI, process managers) and SIGINT (Ctrl-C) both stop cleanly.
    # Set explicitly: a shell starting us in the background ignores SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.time() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    return max((p.returncode or 0) for p in processes)


if __name__ == "__main__":
    sys.exit(main())
