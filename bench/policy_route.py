"""How long the policy engine takes to route one step (it runs for every step of every case).

Prints JSON: microseconds per call for a calm case (three conditions evaluated, autonomous)
and for an earned-autonomy step. Target: well under 20 µs, so routing is noise beside a step.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import timeit
from pathlib import Path

from casework.policy import load_policy, route
from casework.policy.engine import AgreementStats

POLICY = """\
flow: bench
steps:
  suggest_journal:
    kind: preparatory
    mode: autonomous
    manual_minutes: 6
    signoff_when:
      - confidence < 0.6
      - case.sensitive
      - case.amount > 50000 or result.kle in ['32.18.04', "27.24.00"]
  earned:
    kind: preparatory
    mode: autonomous
    manual_minutes: 6
    autonomy: {earned: true, min_agreement: 0.95, window: 200, audit_sample: 0.05}
"""

CALM = {"confidence": 0.9, "case": {"sensitive": False, "amount": 100},
        "result": {"kle": "02.34.02"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(POLICY)
        policy = load_policy(path)
    stats = AgreementStats(decisions=200, kept=199)

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        return min(timeit.repeat(fn, number=args.calls, repeat=5)) / args.calls * 1e6

    print(json.dumps({
        "calls": args.calls,
        "route_calm_us": round(best(lambda: route(policy, "suggest_journal", CALM)), 2),
        "route_earned_us": round(best(lambda: route(policy, "earned", CALM, agreement=stats,
                                                    audit_draw=0.5)), 2),
    }))


if __name__ == "__main__":
    main()
