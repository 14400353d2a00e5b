"""Cold import time of each Lambda handler (fresh interpreter each run) and the Lambda package size.

    .venv/bin/python bench/cold_import.py [--runs 7] [--build-dir .aws-sam/build]

For comparison it also times importing the sagemaker SDK's ResourceRequirements, when the
SDK is installed (pip install -e '.[sdk]'). Package sizes are read from a `sam build`
output directory (run `bash scripts/check` or `sam build` first).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = [
    "handlers.reconcile",
    "handlers.alarm",
    "handlers.janitor",
    "handlers.park",
    "handlers.unpark",
]
SDK = "sagemaker.compute_resource_requirements.resource_requirements"


def time_import(module: str, runs: int) -> float | None:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT / "src",
            check=False,
        )
        if done.returncode != 0:
            return None
        samples.append(float(done.stdout.strip()))
    return statistics.median(samples)


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args()
    out: dict[str, object] = {}
    for module in HANDLERS:
        median = time_import(module, args.runs)
        out[module] = None if median is None else round(median, 3)
    sdk = time_import(SDK, args.runs)
    out["sagemaker SDK ResourceRequirements"] = (
        round(sdk, 3) if sdk is not None else "not installed"
    )
    if args.build_dir.is_dir():
        out["package_mb"] = {
            d.name: round(size_mb(d), 1) for d in sorted(args.build_dir.iterdir()) if d.is_dir()
        }
    print(json.dumps(out, indent=2))
    slow = [m for m in HANDLERS if isinstance(out[m], float) and out[m] > 0.30]  # type: ignore[operator]
    if slow:
        print(f"over the 0.30 s goal: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
