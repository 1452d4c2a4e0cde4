"""Training and held-out data for the ranker, built from the taxonomies themselves.

No public set of Danish letters labelled with KLE subjects exists, so the ranker learns from
the taxonomy (and, per municipality, from caseworkers' confirmed choices; see ``examples``):

* **Subject split.** Every KLE subject is TRAIN or TEST by a hash of its code (1 in 4 is
  TEST). Training only ever uses TRAIN subjects; ``bench/suggest_accuracy.py`` only TEST.
* **Keyword hold-out.** For a subject, up to three keywords that occur in no other subject
  (≥ 5 characters, not a system code, not the title) are removed from its label documents:
  ``q_test`` (the query), ``q_example`` (stored as a confirmed example for half of the
  subjects, so the example features learn a weight) and ``q_extra``.
* **Pseudo-letters.** The held-out keywords are put into short letter templates, so the
  ranker also sees longer texts with filler words, like real letters: ``letter`` (only
  held-out words) and ``letter_mixed`` (one held-out keyword and one the label still has: real
  letters usually contain some of the label's own words, and keyword-only queries made the
  calibration far too cautious on letters). The weights are fitted on the keywords and
  ``letter`` (``letter_mixed`` taught the weights to overrate exact keyword matches; adding
  ``letter_real`` gained < 1 point on training-side letters and lost letters on the
  hand-written sets, so it is left out). ``letter_real`` (``realistic_letter``): varied openings,
  context sentences without the subject, a held-out keyword, often one the label keeps,
  sometimes another subject's word in passing. The confidence is calibrated on these (Platt
  scaling of the top probability): calibrated on keyword-like texts it was too cautious on
  letters. A logistic calibrator over the margin to the runner-up, channel agreement and
  length as well fitted pseudo-letters better but hand-written letters worse.
* **Written texts** (``casework/data/training/kle_texts.jsonl``, 805 texts): citizen letters,
  case titles and internal notes written for this project, each with the subjects a
  caseworker would accept, labelled from the KLE file before any suggestion was looked at.
  Set ``spread`` (437) covers every KLE main group evenly (two texts per subject at most);
  set ``frequent`` (368) covers the requests a municipality receives most often (up to four
  texts per subject), written without seeing the first set. One in three (by a hash of its
  id) is EVAL and never fitted on; the rest refit the weights (pulled towards the
  keyword-fitted ones) and fit the calibration (Platt, cross-fitted), and are shipped as
  starter examples (``casework.suggest.starter``).
  Fitted on pseudo-letters alone the ranker preferred a group's general ``.00`` subject and
  the confidence was too cautious above 0.5 and too sure below 0.3.
* **FSIII** (73 conditions): the query is a condition's definition, removed from its label;
  conditions are split TRAIN/TEST by the same hash. The ranker keeps the KLE weights; the
  confidence is calibrated (Platt) on realistic pseudo care notes of TRAIN conditions
  (``care_notes``): calibrated on definitions it was far too cautious on care notes.

``python -m casework.suggest.training`` rebuilds ``casework/data/ranker/*.json``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from casework.suggest.documents import is_code_like
from casework.suggest.evaluation import accepts
from casework.suggest.ranker import RANKER_DIR, RankerModel, fit_ranker, ranker_file
from casework.suggest.taxonomy import Keyword, Label, Taxonomy

log = logging.getLogger(__name__)
TEST_SHARE = 4  # one subject in four is TEST
NOTES_PER_CONDITION = 6  # FSIII calibration: pseudo care notes per TRAIN condition

_TEMPLATES = (
    "Hej. Jeg skriver til jer angående {a}. Kan I hjælpe mig videre? Venlig hilsen",
    "Vedrørende {a}. Jeg har et spørgsmål om {b} og håber at høre fra jer snart.",
    "Kære kommune, vi vil gerne have oplysninger om {a} og {b}. Med venlig hilsen familien",
    "Jeg henvender mig om {a}. Hvad skal jeg gøre, og hvem kan jeg kontakte?",
    "Til rette vedkommende: sagen drejer sig om {b}, herunder {a}. Tak for hjælpen.",
    "Hei. Jeg lurer på hvordan det går med {a}. Mvh",
)


# Realistic pseudo-letters (``letter_real``): an opening, context sentences that carry no (or a
# misleading) subject, one or two sentences with the subject's words, a closing.
_OPENINGS = ("Hej.", "Kære kommune.", "Til rette vedkommende.", "Goddag.", "", "Hej med jer.",
             "Kære sagsbehandler.")
_CONTEXT = (
    "Jeg har boet i kommunen i mange år.", "Jeg har tidligere ringet, men har ikke fået svar.",
    "Det haster lidt, da vi snart skal rejse.", "Min mand og jeg har talt om det længe.",
    "Jeg vedhæfter de papirer, jeg har.", "Jeg kan træffes på telefon om eftermiddagen.",
    "Vi har to børn på 4 og 7 år.", "Jeg er 72 år og bor alene.", "Vi er lige flyttet hertil.",
    "Min nabo sagde, at jeg skulle skrive til jer.", "Jeg forstår ikke helt reglerne.",
    "Sidste år fik jeg et brev fra jer om noget lignende.", "Jeg arbejder på fuld tid.",
    "Det har stået på i et stykke tid nu.", "Jeg håber, at I kan hjælpe mig.",
)
_CORE = (
    "Jeg skriver angående {a}.", "Vi vil gerne søge om {a}.", "Jeg har et spørgsmål om {a}.",
    "Det drejer sig om {a}.", "Kan I hjælpe med {a}?", "Jeg vil gerne klage over {a}.",
    "Hvad er reglerne for {a}?", "Jeg har brug for hjælp til {a}.",
    "Hvordan kommer jeg videre med {a}?", "Vi har problemer med {a}.",
)
_SECOND = (
    "Det handler også om {b}.", "Jeg vil også gerne høre om {b}.",
    "Sagen hænger sammen med {b}.", "Hvad gælder der for {b}?", "Og hvad med {b}?",
)
_DISTRACTOR = ("Jeg har tidligere haft en sag om {d}, men det er noget andet.",
               "Det er ikke det samme som {d}.")
_CLOSINGS = ("Venlig hilsen", "Mvh.", "På forhånd tak.", "", "Med venlig hilsen Hanne",
             "Tak for hjælpen.")


def realistic_letter(rng: random.Random, a: str, b: str | None, distractor: str | None
                     ) -> str:
    """A letter around the subject words ``a`` (and ``b``) with context sentences and,
    sometimes, another subject's word (``distractor``) mentioned in passing."""
    parts = [rng.choice(_OPENINGS)]
    parts += rng.sample(_CONTEXT, rng.randint(0, 2))
    parts.append(rng.choice(_CORE).format(a=a))
    if b:
        parts.append(rng.choice(_SECOND).format(b=b))
    if distractor:
        parts.append(rng.choice(_DISTRACTOR).format(d=distractor))
    parts += rng.sample(_CONTEXT, rng.randint(0, 1))
    parts.append(rng.choice(_CLOSINGS))
    return " ".join(p for p in parts if p)


def is_test(code: str) -> bool:
    """Stable TRAIN/TEST assignment of a label code (the same on every machine)."""
    return int(hashlib.sha1(code.encode()).hexdigest(), 16) % TEST_SHARE == 0


WRITTEN_TEXTS = Path(__file__).resolve().parent.parent / "data" / "training" / "kle_texts.jsonl"
WRITTEN_EVAL_SHARE = 3  # one written text in three is EVAL
CANDIDATES_FOR_FIT = 50


def written_split(text_id: str) -> str:
    """"eval" (never fitted on) or "train", stable by a hash of the text's id."""
    return "eval" if int(hashlib.sha1(text_id.encode()).hexdigest(), 16) % WRITTEN_EVAL_SHARE \
        == 0 else "train"


def written_texts(split: str | None = None, path: Path = WRITTEN_TEXTS) -> list[dict[str, Any]]:
    """The written KLE texts (``id``, ``set``, ``kind``, ``text``, ``accept``), optionally one
    split."""
    import json

    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = {"id": str(row["id"]), "set": str(row.get("set", "spread")),
                    "kind": str(row["kind"]), "text": str(row["text"]),
                    "accept": [str(c) for c in row["accept"]]}
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled text ({exc})") from exc
        if split is None or written_split(item["id"]) == split:
            out.append(item)
    return out


def resembling(texts: Sequence[str], pool: Sequence[str], ratio: float = 0.5) -> list[bool]:
    """Per text: does some text of ``pool`` resemble it closely (difflib ratio ≥ ``ratio``,
    case ignored)? Written letters about one subject converge on the same phrasing, so the
    starter examples are kept apart from the letters the bench and the demo measure on.

    Pairs are shortlisted by character-trigram cosine (every pair at ratio ≥ 0.5 seen had a
    cosine ≥ 0.16), so only a few get the exact, slow ratio.
    """
    import difflib

    from sklearn.feature_extraction.text import TfidfVectorizer

    low = [t.lower() for t in texts]
    others = [t.lower() for t in pool]
    if not low or not others:
        return [False] * len(low)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(3, 3)).fit(low + others)
    cosine = (vec.transform(low) @ vec.transform(others).T).toarray()
    hit = [False] * len(low)
    for i, j in np.argwhere(cosine >= 0.15):
        if not hit[i] and difflib.SequenceMatcher(None, low[i], others[j]).ratio() >= ratio:
            hit[i] = True
    return hit


def _unique_candidates(taxonomy: Taxonomy) -> Callable[[Label], list[Keyword]]:
    freq = Counter(kw.text.lower() for lab in taxonomy.labels for kw in
                   {k.text.lower(): k for k in lab.keywords}.values())

    def candidates(label: Label) -> list[Keyword]:
        seen: set[str] = set()
        out = []
        for kw in label.keywords:
            low = kw.text.lower()
            if (low not in seen and freq[low] == 1 and len(low) >= 5 and not is_code_like(low)
                    and low != label.title.lower()):
                out.append(kw)
            seen.add(low)
        return out

    return candidates


def keyword_holdout(taxonomy: Taxonomy, split: str, n_subjects: int | None = None,
                    seed: int = 0) -> tuple[Taxonomy, list[dict[str, str]]]:
    """Held-out keyword queries for ``split`` ("train" or "test") subjects, and the taxonomy
    with those keywords removed from their labels."""
    candidates = _unique_candidates(taxonomy)
    want_test = split == "test"
    eligible = [lab for lab in taxonomy.labels if is_test(lab.code) == want_test
                and len(lab.keywords) >= 4 and len(candidates(lab)) >= 2]
    rng = random.Random(seed)
    chosen = rng.sample(eligible, min(n_subjects or len(eligible), len(eligible)))
    chosen.sort(key=lambda lab: lab.code)
    held: dict[str, set[str]] = {}
    items = []
    for i, lab in enumerate(chosen):
        cands = candidates(lab)
        picked = rng.sample(cands, min(3, len(cands)))
        held[lab.code] = {k.text.lower() for k in picked}
        item = {"code": lab.code, "q_test": picked[0].text, "q_example": picked[1].text,
                "half": "A" if i % 2 == 0 else "B"}
        extra = picked[2].text if len(picked) > 2 else picked[0].text
        template = rng.choice(_TEMPLATES)
        item["letter"] = template.format(a=picked[0].text.lower(), b=extra.lower())
        kept = [k.text for k in lab.keywords if k.text.lower() not in held[lab.code]
                and not is_code_like(k.text)] or [lab.title]
        item["letter_mixed"] = rng.choice(_TEMPLATES).format(
            a=picked[0].text.lower(), b=rng.choice(kept).lower())
        # Realistic: a held-out keyword, often one the label keeps, sometimes another subject's.
        lrng = random.Random(f"{seed}-{lab.code}")  # own stream: other items unchanged
        other = lrng.choice(taxonomy.labels)
        other_words = [k.text for k in other.keywords if not is_code_like(k.text)]
        distractor = (lrng.choice(other_words).lower() if other_words and other.code != lab.code
                      and lrng.random() < 0.25 else None)
        second = lrng.choice(kept).lower() if lrng.random() < 0.7 else (
            extra.lower() if lrng.random() < 0.5 else None)
        item["letter_real"] = realistic_letter(lrng, picked[0].text.lower(), second, distractor)
        items.append(item)
    labels = [lab.model_copy(update={"keywords": tuple(
        k for k in lab.keywords if k.text.lower() not in held[lab.code])})
        if lab.code in held else lab for lab in taxonomy.labels]
    note = f"holdout-{split}-seed{seed}-n{n_subjects or 'all'}"
    return taxonomy.with_labels(labels, note), items


def definition_holdout(taxonomy: Taxonomy, split: str) -> tuple[Taxonomy, list[dict[str, str]]]:
    """FSIII: definitions of ``split`` conditions as queries, removed from their labels."""
    want_test = split == "test"
    items = [{"code": lab.code, "q_test": lab.description} for lab in taxonomy.labels
             if lab.description and is_test(lab.code) == want_test]
    held = {it["code"] for it in items}
    labels = [lab.model_copy(update={"description": ""}) if lab.code in held else lab
              for lab in taxonomy.labels]
    return taxonomy.with_labels(labels, f"no-definitions-{split}"), items


def background_letters(taxonomy: Taxonomy, n: int = 200, seed: int = 0
                       ) -> tuple[list[str], list[str]]:
    """Pseudo-letters for TRAIN labels (any keyword or definition in a template): texts of
    many other codes, mixed into a municipality's refit so that examples of one kind cannot
    teach the ranker to put that kind first for every letter."""
    rng = random.Random(seed)
    labels = [lab for lab in taxonomy.labels if not is_test(lab.code)
              and (lab.keywords or lab.description)]
    chosen = rng.sample(labels, min(n, len(labels)))
    texts, codes = [], []
    for lab in chosen:
        words = [k.text for k in lab.keywords if not is_code_like(k.text)] or [
            lab.description or lab.title]
        a, b = rng.choice(words), rng.choice(words)
        texts.append(rng.choice(_TEMPLATES).format(a=a.lower(), b=b.lower()))
        codes.append(lab.code)
    return texts, codes


def collect(suggester: Any, texts: Sequence[str], codes: Sequence[str], batch: int = 64,
            progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate features [n × k × F] and the right label's position (−1 if not among)."""
    feats, gold = [], []
    index = {lab.code: i for i, lab in enumerate(suggester.labels)}
    for start in range(0, len(texts), batch):
        chunk = list(texts[start:start + batch])
        cand, f, _ = suggester.features(chunk)
        target = np.array([index[c] for c in codes[start:start + batch]])
        hit = cand == target[:, np.newaxis]
        gold.append(np.where(hit.any(axis=1), hit.argmax(axis=1), -1))
        feats.append(f)
        if progress:
            progress(len(chunk))
    return np.concatenate(feats), np.concatenate(gold)


def ranked_codes(suggester: Any, texts: Sequence[str], top: int = 10, batch: int = 64,
                 progress: Callable[[int], None] | None = None
                 ) -> tuple[list[list[str]], np.ndarray]:
    """Top codes per text and the calibrated confidence of the first (for evaluations)."""
    codes: list[list[str]] = []
    conf: list[float] = []
    for start in range(0, len(texts), batch):
        chunk = list(texts[start:start + batch])
        cand, _, c, _ = suggester.rank(chunk)
        codes += [[suggester.labels[j].code for j in row[:top]] for row in cand]
        conf += c[:, 0].tolist()
        if progress:
            progress(len(chunk))
    return codes, np.asarray(conf)


def _train_kle(engine: str, cache: Path, dense: Any) -> RankerModel:
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_kle

    variant, items = keyword_holdout(load_kle(), "train", seed=1)
    suggester = TaxonomySuggester(variant, engine, cache_dir=cache, dense=dense,
                                  ranker=RankerModel.default("kle", engine))
    half_a = [it for it in items if it["half"] == "A"]
    suggester.add_examples([it["q_example"] for it in half_a], [it["code"] for it in half_a])
    kinds = ("q_test", "letter", "letter_mixed", "letter_real")
    texts = [it[kind] for kind in kinds for it in items]
    codes = [it["code"] for it in items] * len(kinds)
    kind_of = np.repeat(np.arange(len(kinds)), len(items))
    started = time.monotonic()
    feats, gold = collect(suggester, texts, codes)
    log.info("kle/%s: features for %d queries in %.0f s", engine, len(texts),
             time.monotonic() - started)
    keyword_fit = fit_ranker(feats, gold, taxonomy="kle", engine=engine,
                             fit_on=kind_of <= 1, calibrate_on=kind_of == 3,
                             calibration_kind="platt", trained_on="keyword hold-out")
    return _refit_on_written(keyword_fit, engine, cache, dense, (
        f"KLE keyword hold-out, TRAIN subjects only ({len(items)} subjects: held-out keyword "
        f"+ pseudo-letter each; q_example of half of them as confirmed examples), then refitted "
        f"and calibrated (Platt) on the TRAIN part of the written texts"))


def _refit_on_written(base: RankerModel, engine: str, cache: Path, dense: Any,
                      trained_on: str, l2: float = 1.0, folds: int = 5) -> RankerModel:
    """Weights refitted on the written TRAIN texts (pulled towards ``base``'s), calibration
    fitted on their cross-fitted top probabilities.

    These texts are also the starter examples (``casework.suggest.starter``), so each fold is
    scored with the other folds' texts loaded as starter examples, as a new letter meets them.
    The example weights stay as the keyword fit learnt them (``starter`` gets ``example``'s):
    most written texts find no other text of their subject in the other folds (the ``spread``
    set has two per subject at most), so a refit would learn "examples mislead", which the
    held-out letters contradict. A text
    with several accepted codes counts the one the base weights rank highest as its answer.
    """
    from casework.suggest.calibration import Calibrator, expected_calibration_error
    from casework.suggest.ranker import FEATURES, _softmax, fit_weights
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_kle

    rows = written_texts("train")
    suggester = TaxonomySuggester(load_kle(), engine, cache_dir=cache, dense=dense, ranker=base)
    texts = [r["text"] for r in rows]
    firsts = [r["accept"][0] for r in rows]
    vectors = suggester.starter_vectors(texts)
    fold_of = np.random.default_rng(0).permutation(len(rows)) % folds
    feats = np.zeros((len(rows), CANDIDATES_FOR_FIT, len(FEATURES)), dtype=np.float32)
    accepted = np.zeros((len(rows), CANDIDATES_FOR_FIT), dtype=bool)
    for f in range(folds):
        others = np.flatnonzero(fold_of != f)
        suggester.add_starter_examples(
            [texts[i] for i in others], [firsts[i] for i in others],
            dense_vectors=None if vectors is None else vectors[others])
        mine = np.flatnonzero(fold_of == f)
        cand, x, _ = suggester.features([texts[i] for i in mine], CANDIDATES_FOR_FIT)
        feats[mine] = x
        accepted[mine] = [[accepts(suggester.labels[c].code, rows[i]["accept"]) for c in row]
                          for row, i in zip(cand, mine, strict=True)]
    prior = base._w().astype(np.float64)
    prior[FEATURES.index("starter")] = prior[FEATURES.index("example")]
    logits = feats @ prior
    gold = np.array([int(np.flatnonzero(ok)[np.argmax(lg[ok])]) if ok.any() else -1
                     for ok, lg in zip(accepted, logits, strict=True)])
    free = [name for name in FEATURES if name not in ("example", "duplicate", "starter")]
    raw = np.zeros(len(rows))
    right = np.zeros(len(rows), dtype=bool)
    for f in range(folds):
        test = fold_of == f
        w = fit_weights(feats[~test], gold[~test], prior, l2, free=free)
        probs = _softmax(feats[test] @ w)
        raw[test] = probs.max(axis=1)
        right[test] = accepted[test][np.arange(int(test.sum())), probs.argmax(axis=1)]
    weights = fit_weights(feats, gold, prior, l2, free=free)
    calibration = Calibrator.fit(raw, right, kind="platt", fitted_on=(
        f"written TRAIN texts, the other folds loaded as examples ({folds}-fold out-of-fold, "
        f"n={len(rows)})"))
    metrics = {**base.metrics, "written_n": float(len(rows)),
               "written_in_candidates": round(float((gold >= 0).mean()), 4),
               "written_oof_top1": round(float(right.mean()), 4),
               "written_oof_ece_calibrated": expected_calibration_error(calibration(raw), right)}
    log.info("kle/%s: written texts %s", engine, metrics)
    return RankerModel(taxonomy="kle", engine=engine,
                       weights=[round(float(v), 5) for v in weights], calibration=calibration,
                       trained_on=trained_on, metrics=metrics, created=base.created)


def _train_fsiii(engine: str, cache: Path, dense: Any, kle: RankerModel) -> RankerModel:
    from casework.suggest.care_notes import note_holdout
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_fsiii

    variant, notes = note_holdout(load_fsiii(), "train", per_condition=NOTES_PER_CONDITION)
    defs = list({it["code"]: it for it in notes}.values())
    suggester = TaxonomySuggester(variant, engine, cache_dir=cache, dense=dense, ranker=kle)
    texts = [it["definition"] for it in defs] + [it["note"] for it in notes]
    codes = [it["code"] for it in defs] + [it["code"] for it in notes]
    is_note = np.arange(len(texts)) >= len(defs)
    feats, gold = collect(suggester, texts, codes)
    # 52 definitions are too few to refit 12 weights (a free fit ranked worse on care notes):
    # keep the KLE weights. The calibration is fitted on pseudo care notes (fitted on the
    # definitions it was far too cautious on notes).
    return fit_ranker(feats, gold, taxonomy="fsiii", engine=engine, folds=5,
                      prior=kle._w().astype(np.float64), l2=1e6, fit_on=~is_note,
                      calibrate_on=is_note, calibration_kind="platt", trained_on=(
                          f"KLE ranker weights; calibration (Platt) on realistic pseudo care "
                          f"notes of TRAIN conditions ({len(defs)} conditions, "
                          f"{len(notes)} notes)"))


class _QueryMemo:
    """Remembers query vectors, so the e5 and hybrid fits embed each query once."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self._memo: dict[tuple[str, str], np.ndarray] = {}

    def encode(self, texts: list[str], role: Any = "query") -> np.ndarray:
        if role != "query":
            return self.inner.encode(texts, role)
        todo = [t for t in dict.fromkeys(texts) if (role, t) not in self._memo]
        if todo:
            for t, v in zip(todo, self.inner.encode(todo, role), strict=True):
                self._memo[(role, t)] = v
        return np.vstack([self._memo[(role, t)] for t in texts])


def main(argv: Sequence[str] | None = None) -> None:
    """Rebuild the shipped rankers (KLE and FSIII, every engine available here)."""
    import argparse

    from casework.suggest.encoders import E5Encoder, e5_available

    parser = argparse.ArgumentParser(description="Train the shipped suggestion rankers.")
    parser.add_argument("--cache-dir", type=Path, default=Path(".casework/train-cache"))
    parser.add_argument("--engine", action="append")
    parser.add_argument("--fsiii-only", action="store_true",
                        help="Keep the KLE rankers; refit FSIII from them.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    engines = args.engine or (["tfidf", "e5", "hybrid"] if e5_available() else ["tfidf"])
    dense = _QueryMemo(E5Encoder()) if e5_available() else None
    for engine in engines:
        enc = dense if engine != "tfidf" else None
        if args.fsiii_only:
            kle = RankerModel.model_validate_json(
                ranker_file(RANKER_DIR, "kle", engine).read_text(encoding="utf-8"))
        else:
            kle = _train_kle(engine, args.cache_dir, enc)
            kle.save(ranker_file(RANKER_DIR, "kle", engine))
            log.info("kle/%s: %s", engine, kle.metrics)
        fs = _train_fsiii(engine, args.cache_dir, enc, kle)
        fs.save(ranker_file(RANKER_DIR, "fsiii", engine))
        log.info("fsiii/%s: %s", engine, fs.metrics)


if __name__ == "__main__":
    main()
