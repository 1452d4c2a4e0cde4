"""Accuracy@k and calibration of ranked suggestions against gold codes.

Shared by ``casework suggest evaluate``, ``casework router evaluate`` and the benchmark, so
every place reports the same numbers: accuracy@1/@3/@10, expected calibration error (ECE) of
the top suggestion's confidence, and a reliability table (per confidence bin: how often the
top suggestion was right).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from casework.suggest.calibration import (
    Bin,
    ece_if_calibrated,
    expected_calibration_error,
    reliability,
)

KS = (1, 3, 10)


def accepts(code: str, gold: Sequence[str]) -> bool:
    """``gold`` lists accepted codes; a trailing ``*`` accepts a prefix (``32.06.*``)."""
    return any(code.startswith(g[:-1]) if g.endswith("*") else code == g for g in gold)


class Report(BaseModel):
    """What an evaluation prints (and ``--json`` writes)."""

    n: int
    accuracy: dict[str, float]
    ece: float
    # What a perfectly calibrated model would show on this many texts (mean, 95th
    # percentile): an ECE below the 95th percentile is within sampling noise.
    ece_if_calibrated: float = 0.0
    ece_if_calibrated_p95: float = 0.0
    mean_confidence: float
    reliability: list[Bin]

    def to_text(self, title: str = "") -> str:
        acc = "   ".join(f"@{k} {v:.3f}" for k, v in self.accuracy.items())
        lines = [f"{title}{self.n} texts   accuracy {acc}",
                 f"top suggestion: mean confidence {self.mean_confidence:.3f}, "
                 f"right {self.accuracy.get('1', 0.0):.3f}, ECE {self.ece:.3f}",
                 f"(a perfectly calibrated model would show ECE {self.ece_if_calibrated:.3f} "
                 f"on {self.n} texts, 95 % of the time at most {self.ece_if_calibrated_p95:.3f})",
                 "",
                 "confidence bin    texts  mean confidence  right"]
        for b in self.reliability:
            lines.append(f"{b.low:4.2f} – {b.high:4.2f}    {b.n:6d}  {b.mean_confidence:15.3f}"
                         f"  {b.accuracy:5.3f}")
        return "\n".join(lines)


def score(ranked: Sequence[Sequence[str]], confidence: Sequence[float],
          gold: Sequence[Sequence[str]], ks: Sequence[int] = KS) -> Report:
    """``ranked`` codes per text (best first), the top one's confidence, accepted codes."""
    if not (len(ranked) == len(confidence) == len(gold)):
        raise ValueError("ranked, confidence and gold differ in length")
    n = len(ranked)
    hit_at = [next((i for i, c in enumerate(r) if accepts(c, g)), None)
              for r, g in zip(ranked, gold, strict=True)]
    accuracy = {str(k): round(sum(1 for h in hit_at if h is not None and h < k) / max(n, 1), 4)
                for k in ks}
    top_right = [h == 0 for h in hit_at]
    floor, floor_p95 = ece_if_calibrated(confidence)
    return Report(n=n, accuracy=accuracy,
                  ece=expected_calibration_error(confidence, top_right),
                  ece_if_calibrated=floor, ece_if_calibrated_p95=floor_p95,
                  mean_confidence=round(float(np.mean(confidence)) if n else 0.0, 4),
                  reliability=reliability(confidence, top_right))


def plot_reliability(report: Report, path: Path, title: str = "") -> bool:
    """Write a reliability diagram PNG if matplotlib is installed; False if it is not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    xs = [b.mean_confidence for b in report.reliability]
    ys = [b.accuracy for b in report.reliability]
    sizes = [20 + 200 * b.n / max(report.n, 1) for b in report.reliability]
    ax.plot(xs, ys, color="#1f5f8b", linewidth=1)
    ax.scatter(xs, ys, s=sizes, color="#1f5f8b")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the top suggestion")
    ax.set_ylabel("share right")
    ax.set_title(title or f"n={report.n}, ECE {report.ece:.3f}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
