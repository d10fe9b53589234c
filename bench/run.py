"""Benchmarks, run with `make bench` (a throwaway PostgreSQL). Prints figures and the ratios the issues ask for.

Each benchmark is a function `bench_<name>(args)` in a module of this folder; `--only NAME` runs one.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apilo.settings")

import django  # noqa: E402

django.setup()

from bench import (  # noqa: E402
    bench_automation,
    bench_documents,
    bench_embedded,
    bench_infakt,
    bench_ksef,
    bench_ksef_send,
    bench_orders,
)

BENCHMARKS = {
    "orders": bench_orders.run,
    "documents": bench_documents.run,
    "document-list": bench_documents.run_list,
    "infakt": bench_infakt.run,
    "ksef": bench_ksef.run,
    "ksef-send": bench_ksef_send.run,
    "automation": bench_automation.run,
    "embedded": bench_embedded.run,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(BENCHMARKS))
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--infakt-invoices", type=int, default=1000)
    parser.add_argument("--ksef-invoices", type=int, default=10_000)
    parser.add_argument("--ksef-send-invoices", type=int, default=1000)
    parser.add_argument("--automation-orders", type=int, default=10_000)
    parser.add_argument("--mix-rounds", type=int, default=10, help="rounds per client of the 16-client mix")
    args = parser.parse_args()
    for name, bench in BENCHMARKS.items():
        if args.only in (None, name):
            print(f"\n=== {name} ===", flush=True)
            bench(args)


if __name__ == "__main__":
    main()
