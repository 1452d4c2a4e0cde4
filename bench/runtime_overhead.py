"""Per-step overhead of the governed step runtime, as a stable figure: many short rounds, the
variants interleaved in a fresh random order each round, reported as median and spread.

Variants, each timed inside its flow run (so creating the flow run is not in the figure), on a
local Prefect API and a SQLite ledger:

- ``bare_task``: N calls of the step function as a bare Prefect task;
- ``governed_task``: the same as a governed step called in a plain flow (one Prefect task per
  step: the legacy path): policy routing, one ledger row and one audit event per step;
- ``item_bare`` / ``item_governed``: K work items through ``CaseworkFlow.process`` (claim,
  lease, finish; with ``--task-runs`` each item one Prefect task run), whose handler calls the
  function M times bare, or as the governed step (the new hot path: a plain governed call
  inside the item, which also stores the step for the item). The difference between the two,
  per step, is what governing a step costs inside an item.

Ratios are taken per round (variants of one round ran side by side, so load drift hits both),
then summarised: median, interquartile range, min and max over the rounds, and a bootstrap 95 %
interval of the median (how far the median of another run of the same code may land; more
rounds narrow it).

    .venv/bin/python bench/runtime_overhead.py                      # 30 rounds
    .venv/bin/python bench/runtime_overhead.py --rounds 60 --no-task-runs
"""


import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.10


def spread(values: list[float], digits: int = 3) -> dict[str, float]:
    """Median, quartiles and extremes of a list of figures."""
    ordered = sorted(values)
    q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 \
        else (ordered[0],) * 3
    return {"median": round(statistics.median(ordered), digits), "p25": round(q1, digits),
            "p75": round(q3, digits), "min": round(ordered[0], digits),
            "max": round(ordered[-1], digits)}


def median_interval(values: list[float], seed: int, digits: int = 3) -> list[float]:
    """A 95 % bootstrap interval of the median: how far another run's median may land."""
    draw = random.Random(seed)
    medians = sorted(statistics.median(draw.choices(values, k=len(values)))
                     for _ in range(2000))
    return [round(medians[50], digits), round(medians[1949], digits)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20,
                        help="step calls per round of the task variants")
    parser.add_argument("--items", type=int, default=8, help="work items per round")
    parser.add_argument("--steps-per-item", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1,
                        help="items at once (1: per-step cost without thread contention)")
    parser.add_argument("--task-runs", action=argparse.BooleanOptionalAction, default=True,
                        help="each work item one Prefect task run (CASEWORK_ITEM_TASK_RUNS)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    os.environ.update({"CASEWORK_DATA_DIR": str(work / "data"),
                       "CASEWORK_PSEUDONYM_KEY": "bench",
                       "CASEWORK_ITEM_TASK_RUNS": "true" if args.task_runs else "false"})
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The local server keeps its state in SQLite; a busy moment answers 503, which is retried.
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    policy = work / "bench_flow.yaml"
    policy.write_text(
        "flow: bench_flow\nsteps:\n  work:\n    kind: preparatory\n    mode: autonomous\n"
        "    manual_minutes: 2\n    signoff_when: [confidence < 0.5, case.sensitive]\n"
    )

    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    from casework.case import Case
    from casework.items.queue import NewItem
    from casework.runtime import CaseworkFlow
    from casework.settings import reset_settings_cache

    reset_settings_cache()

    def body(x: int) -> dict[str, Any]:
        return {"confidence": 0.9, "value": x * 2}

    @task(name="work")
    def bare_task(case: Case, x: int) -> dict[str, Any]:
        return body(x)

    robot = CaseworkFlow("bench_flow", policy_file=policy)

    @robot.step("work")
    def governed_step(case: Case, x: int) -> dict[str, Any]:
        return body(x)

    steps, per_item = args.steps, args.steps_per_item

    def bare_item(payload: dict) -> dict:  # type: ignore[type-arg]
        for i in range(per_item):
            body(i)
        return {"status": "done"}

    def governed_item(payload: dict) -> dict:  # type: ignore[type-arg]
        case = Case(id=payload["case_id"], attributes={"sensitive": False})
        for i in range(per_item):
            governed_step(case, i)
        return {"status": "done"}

    @flow(name="bench-bare")
    def bare_flow(cases: list[str]) -> float:
        start = time.perf_counter()
        for i, case_id in enumerate(cases):
            bare_task(Case(id=case_id), i)
        return time.perf_counter() - start

    @robot.flow(name="bench-governed")
    def governed_flow(cases: list[str]) -> float:
        start = time.perf_counter()
        for i, case_id in enumerate(cases):
            governed_step(Case(id=case_id, attributes={"sensitive": False}), i)
        return time.perf_counter() - start

    @robot.flow(name="bench-items")
    def items_flow(item_ids: list[str], governed: bool) -> float:
        start = time.perf_counter()
        report = robot.process(governed_item if governed else bare_item, item_ids=item_ids,
                               max_concurrency=args.concurrency)
        assert report.count("done") == len(item_ids), report.counts
        return time.perf_counter() - start

    serial = iter(range(10**9))

    def cases() -> list[str]:
        return [f"SAG-{next(serial)}" for _ in range(steps)]

    def queued() -> list[str]:
        ids = [f"SAG-{next(serial)}" for _ in range(args.items)]
        return robot.add_items(NewItem(key=f"case:{c}", payload={"case_id": c}) for c in ids).ids

    variants: dict[str, Callable[[], float]] = {
        "bare_task": lambda: bare_flow(cases()),
        "governed_task": lambda: governed_flow(cases()),
        "item_bare": lambda: items_flow(queued(), False),
        "item_governed": lambda: items_flow(queued(), True),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = random.Random(args.seed)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with prefect_test_harness(server_startup_timeout=90):
        for run in variants.values():  # warm up: schema, policy, imports, first runs
            run()
        started = time.perf_counter()
        for _ in range(args.rounds):
            names = list(variants)
            order.shuffle(names)
            for name in names:
                times[name].append(variants[name]())
        seconds = time.perf_counter() - started

    n_item_steps = args.items * per_item
    ms_bare_task = [t / steps * 1000 for t in times["bare_task"]]
    ms_governed_task = [t / steps * 1000 for t in times["governed_task"]]
    ms_item_bare = [t / args.items * 1000 for t in times["item_bare"]]
    ms_item_governed = [t / args.items * 1000 for t in times["item_governed"]]
    ms_step_in_item = [(g - b) / n_item_steps * 1000
                       for g, b in zip(times["item_governed"], times["item_bare"], strict=True)]
    legacy_ratio = [g / b for g, b in zip(ms_governed_task, ms_bare_task, strict=True)]
    item_ratio = [g / b for g, b in zip(ms_item_governed, ms_item_bare, strict=True)]
    in_item_vs_task = [s / b for s, b in zip(ms_step_in_item, ms_bare_task, strict=True)]
    print(json.dumps({
        "benchmark": "step runtime overhead",
        "rounds": args.rounds, "steps_per_round": steps, "items_per_round": args.items,
        "steps_per_item": per_item, "item_concurrency": args.concurrency,
        "item_task_runs": args.task_runs, "seconds_measured": round(seconds, 1),
        "ms_per_step": {
            "bare_prefect_task": spread(ms_bare_task),
            "governed_step_as_prefect_task": spread(ms_governed_task),
            "governed_step_inside_work_item": spread(ms_step_in_item),
        },
        "ms_per_item": {
            f"bare_{per_item}_calls": spread(ms_item_bare),
            f"governed_{per_item}_steps": spread(ms_item_governed),
        },
        "ratios_per_round": {
            "governed_task_to_bare_task": spread(legacy_ratio),
            "governed_item_to_bare_item": spread(item_ratio),
            "governed_step_in_item_to_bare_prefect_task": spread(in_item_vs_task),
        },
        "median_ratio_95pct_interval": {
            "governed_task_to_bare_task": median_interval(legacy_ratio, args.seed),
            "governed_item_to_bare_item": median_interval(item_ratio, args.seed),
            "governed_step_in_item_to_bare_prefect_task": median_interval(in_item_vs_task,
                                                                          args.seed),
        },
        "target_ratio_governed_task_to_bare_task": TARGET_RATIO,
        "load_average_1_5_15": {"before": load_before,
                                "after": [round(x, 2) for x in os.getloadavg()]},
    }, indent=2))


if __name__ == "__main__":
    main()
