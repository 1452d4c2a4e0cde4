"""Offline text suggestions for early casework: KLE subjects, FSIII conditions, team routing.

Modules (one job each):

* ``taxonomy``      parse KLE / FSIII into ``Label``s (``load_kle``, ``load_fsiii``)
* ``tfidf``         small numpy TF-IDF (word / character n-grams)
* ``encoders``      ``Encoder`` protocol: ``TfidfEncoder``, ``E5Encoder``, ``HttpEncoder``
* ``documents``     label → text recipes and evidence words
* ``label_vectors`` shipped / cached label embeddings
* ``suggester``     ``TaxonomySuggester.suggest(texts, top) -> list[list[Suggestion]]``
* ``examples``      confirmed choices (``ExampleStore``) and ``retrain``
* ``router``        team-routing classifier (``Router.train/save/load/predict/evaluate``)
* ``jsonl``, ``cli`` streaming JSON lines and ``register(app)`` for the Typer CLI

Nothing is downloaded at run time: taxonomies and label embeddings ship in ``casework/data``.
Import the submodules directly; this package stays import-light for the CLI.
"""
