"""Levqor benchmarks: print the figures the README quotes.

The baseline is the requests per second of a trivial view (`/-/ping`: no
database, cache or broker) under gunicorn, measured from the same machine on
loopback. Every other figure is a module `bench/bench_<name>.py` with a
`run(ctx)` function that prints its figures, as a ratio of the baseline where
it is a throughput, so numbers stay comparable across machines.

    make bench                                   # everything
    .venv/bin/python bench/run.py --only health  # one module
"""

import argparse
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lib  # noqa: E402


@dataclass
class Context:
    seconds: float
    clients: int
    workers: int
    baseline_rps: float

    def ratio(self, rps: float) -> str:
        return f"{rps / self.baseline_rps:.2f}× baseline" if self.baseline_rps else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], help="run only bench_<name>.py (repeatable)")
    args = parser.parse_args()

    with lib.gunicorn(workers=args.workers) as port:
        load = lib.baseline(port, seconds=args.seconds, clients=args.clients)
    print(
        f"baseline  trivial view /-/ping under gunicorn ({args.workers} sync workers, "
        f"{args.clients} client threads, {args.seconds:g} s): {load.rps:,.0f} req/s, "
        f"p50 {load.percentile(0.5):.1f} ms, p99 {load.percentile(0.99):.1f} ms, {load.failed} failed"
    )
    results = lib.ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "baseline.json").write_text(json.dumps({"rps": load.rps, "failed": load.failed}))

    ctx = Context(seconds=args.seconds, clients=args.clients, workers=args.workers, baseline_rps=load.rps)
    failed = bool(load.failed)
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        failed |= bool(module.run(ctx))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
