"""Levqor benchmarks: print the figures the README quotes.

First the hot paths (`bench/hotpaths.py`): each as a ratio of a bare Django
app that answers a small JSON body (`bench/ceiling.py`, the ceiling),
served by the same gunicorn settings and measured in the same run, with the
issue's target beside it. Then every other figure: a module
`bench/bench_<name>.py` with a `run(ctx)` function that prints its figures,
as a ratio of the ceiling where it is a throughput. Exits non-zero when any
figure misses its target, so ratios stay comparable across machines.

    make bench                                       # everything
    .venv/bin/python bench/run.py --only hotpaths    # the table alone
    .venv/bin/python bench/run.py --only status      # one module
"""

import argparse
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hotpaths, lib  # noqa: E402


@dataclass
class Context:
    seconds: float
    rounds: int
    clients: int
    workers: int
    baseline_rps: float = 0.0  # the ceiling's requests per second, once measured

    def ratio(self, rps: float) -> str:
        return f"{rps / self.baseline_rps:.2f}× the ceiling" if self.baseline_rps else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one slice")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per hot path")
    parser.add_argument("--clients", type=int, default=8, help="client threads of the other modules")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], help="hotpaths, or bench_<name>.py (repeatable)")
    args = parser.parse_args()
    (lib.ROOT / "bench" / "results").mkdir(exist_ok=True)
    ctx = Context(seconds=args.seconds, rounds=args.rounds, clients=args.clients, workers=args.workers)

    failed = False
    if not args.only or "hotpaths" in args.only:
        failed |= bool(hotpaths.run(ctx))
        (lib.ROOT / "bench" / "results" / "baseline.json").write_text(json.dumps({"ceiling_rps": ctx.baseline_rps}))
    elif (saved := lib.ROOT / "bench" / "results" / "baseline.json").exists():
        ctx.baseline_rps = json.loads(saved.read_text()).get("ceiling_rps", 0.0)
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        failed |= bool(module.run(ctx))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
