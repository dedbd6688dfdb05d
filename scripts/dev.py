"""Start the web server and a django-q2 cluster together (for `make run`).

Prints the URLs and the admin login, then runs until Ctrl-C, which stops
both. If either process exits, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time

HOST = os.environ.get("LEVQOR_HOST", "127.0.0.1")
PORT = os.environ.get("LEVQOR_PORT", "8000")


def main() -> int:
    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("LEVQOR_BASE_URL", f"http://{HOST}:{PORT}")
    web = subprocess.Popen([python, "manage.py", "runserver", f"{HOST}:{PORT}"], env=env)
    worker = subprocess.Popen([python, "manage.py", "qcluster"], env=env)
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
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.time() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                process.kill()
    return max((p.returncode or 0) for p in processes)


if __name__ == "__main__":
    sys.exit(main())
