"""Per-step overhead of the governed step runtime vs. the same function as a bare Prefect task.

Runs N steps of each kind inside one flow on a local Prefect API and a SQLite ledger, and
prints JSON. The governed step does what the product needs on every step: policy routing,
one ledger row and one audit event committed in a transaction.

    .venv/bin/python bench/runtime_overhead.py --steps 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    os.environ.setdefault("CASEWORK_DATA_DIR", str(work / "data"))
    os.environ.setdefault("CASEWORK_PSEUDONYM_KEY", "bench")
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The local server keeps its state in SQLite; a busy moment answers 503, which is retried.
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    policy = work / "bench_flow.yaml"
    policy.write_text(
        "flow: bench_flow\nsteps:\n  work:\n    kind: preparatory\n    mode: autonomous\n"
        "    manual_minutes: 2\n    signoff_when: [confidence < 0.5, case.sensitive]\n"
    )

    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    from casework.case import Case
    from casework.runtime import CaseworkFlow

    def body(x: int) -> dict:
        return {"confidence": 0.9, "value": x * 2}

    bare_task = task(name="work")(lambda case, x: body(x))
    robot = CaseworkFlow("bench_flow", policy_file=policy)
    governed_step = robot.step("work")(lambda case, x: body(x))
    cases = [Case(id=f"SAG-{i}", attributes={"sensitive": False}) for i in range(args.steps)]

    @flow(name="bench-bare")
    def bare() -> None:
        for i, case in enumerate(cases):
            bare_task(case, i)

    @robot.flow(name="bench-governed")
    def governed() -> None:
        for i, case in enumerate(cases):
            governed_step(case, i)

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    with prefect_test_harness(server_startup_timeout=90):
        governed()  # warm up: schema migration, policy load, imports
        bare()
        bare_times, governed_times = [], []
        for _ in range(args.rounds):  # interleaved so drift hits both alike
            bare_times.append(timed(bare))
            governed_times.append(timed(governed))

    bare_ms = statistics.median(bare_times) / args.steps * 1000
    governed_ms = statistics.median(governed_times) / args.steps * 1000
    print(json.dumps({
        "benchmark": "step runtime overhead",
        "steps_per_round": args.steps, "rounds": args.rounds,
        "bare_prefect_task_ms_per_step": round(bare_ms, 3),
        "governed_step_ms_per_step": round(governed_ms, 3),
        "ratio": round(governed_ms / bare_ms, 3),
        "target_ratio": 1.10,
    }, indent=2))


if __name__ == "__main__":
    main()
