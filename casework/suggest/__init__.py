"""Offline text suggestions for early casework: KLE subjects, FSIII conditions, team routing.

Modules (one job each):

* ``taxonomy``      parse KLE / FSIII into ``Label``s (``load_kle``, ``load_fsiii``)
* ``tfidf``         small numpy TF-IDF (word / character n-grams)
* ``encoders``      ``Encoder`` protocol: ``TfidfEncoder``, ``E5Encoder``, ``HttpEncoder``
* ``documents``     label → text recipes and evidence words
* ``label_vectors`` shipped / cached label embeddings
* ``suggester``     ``TaxonomySuggester.suggest(texts, top) -> list[list[Suggestion]]``;
                    ``Suggestion.confidence`` = calibrated P(this code is right)
* ``ranker``        second-stage linear re-ranker over the top 50 + its calibration
* ``calibration``   ``Calibrator`` (isotonic / Platt), ECE, reliability table
* ``evaluation``    accuracy@1/@3/@10 + calibration report (``suggest evaluate``, bench)
* ``training``      keyword hold-out / TRAIN-TEST split; rebuilds the shipped rankers
* ``examples``      caseworkers' decisions per municipality (``ExampleStore``) and ``retrain``
* ``router``        team-routing classifier (``Router.train/save/load/predict/evaluate``),
                    calibrated on cross-fitted folds of its training data
* ``jsonl``, ``cli`` streaming JSON lines and ``register(app)`` for the Typer CLI

Nothing is downloaded at run time: taxonomies, label embeddings and the trained rankers (with
their calibration) ship in ``casework/data``.
Import the submodules directly; this package stays import-light for the CLI.
"""
