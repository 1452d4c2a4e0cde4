"""Routing: decide which department should handle a case, with a confidence and the reason,
and place the case there in the case system when the policy allows.

The router (``casework.suggest.router.Router``) is a classifier trained on the municipality's
own history (``casework router train``). Without a model the flow trains one at start from the
bundled, synthetic letters in ``flows/data/routing_letters.tsv`` (TF-IDF, a few seconds).
Low confidence and sensitive letters wait for a caseworker (``policies/routing.yaml``).
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from contextvars import ContextVar
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from casework.case import Case, Evidence, EvidenceDocument
from casework.items.keys import case_key
from casework.items.processing import ItemsReport
from casework.items.queue import Added, NewItem
from casework.privacy import mask_cpr, pseudonymise
from casework.runtime import CaseworkFlow, Decision, require_signoff
from casework.settings import get_settings
from casework.suggest.encoders import DenseTfidfEncoder, TfidfEncoder
from casework.suggest.router import Router, read_labelled
from connectors.case_system import CaseSystemClient
from connectors.mailbox import html_to_text
from flows.connections import Systems, connections, using
from flows.letter_text import is_sensitive
from flows.settings import connector_settings

log = logging.getLogger(__name__)
robot = CaseworkFlow("routing")

TRAINING_FILE = Path(__file__).with_name("data") / "routing_letters.tsv"
TEXT_COL, LABEL_COL = "text", "department"
MAX_TEXT_CHARS = 4000


# -- the model -------------------------------------------------------------------------------

_routers: dict[tuple[str, int], Router] = {}
_routers_lock = threading.Lock()


def train_bundled_router(folder: Path, *, engine: str = "tfidf",
                         data: Path = TRAINING_FILE) -> Router:
    """Train a router on ``data`` (default: the bundled synthetic letters) and save it."""
    texts, labels = read_labelled(data, TEXT_COL, LABEL_COL)
    router = Router.train(texts, labels, engine, source=str(data), text_col=TEXT_COL,
                          label_col=LABEL_COL)
    router.save(folder)
    return router


def load_router(model_dir: str | Path | None = None) -> Router:
    """The router at ``model_dir`` (or ``CASEWORK_ROUTER_MODEL``); without either, the bundled
    model under the data dir, trained on first use. Loaded once per process and folder."""
    folder = Path(model_dir) if model_dir else connector_settings().router_model
    if folder is None:
        folder = get_settings().data_dir / "models" / "router-bundled"
        if not (folder / "meta.json").is_file():
            train_bundled_router(folder)
    meta = folder / "meta.json"
    stamp = meta.stat().st_mtime_ns if meta.is_file() else 0
    key = (str(folder.resolve()), stamp)
    with _routers_lock:
        if key not in _routers:
            _routers[key] = Router.load(folder)
        return _routers[key]


def reason_words(router: Router, text: str, label: str, top: int = 6) -> list[str]:
    """Words of ``text`` that pushed the router most towards ``label``: from the TF-IDF
    router, or the TF-IDF part of a hybrid one (empty for a dense encoder alone, whose
    dimensions are not words)."""
    encoder = router.encoder
    if isinstance(encoder, DenseTfidfEncoder):
        encoder = encoder.tfidf  # its columns come after the dense ones
    if not isinstance(encoder, TfidfEncoder) or "word" not in encoder.analyzers:
        return []
    names = encoder.feature_names("word")
    row = encoder.encode([text])[0].tocsr()
    offset = router.coef.shape[1] - row.shape[1]
    words = row.indices < len(names)  # the word block comes first
    index, values = row.indices[words], row.data[words]
    weights = router.coef[router.meta.labels.index(label), offset + index] * values
    order = np.argsort(-weights)
    return [names[index[j]] for j in order[:top] if weights[j] > 0]


# -- results ---------------------------------------------------------------------------------


class Alternative(BaseModel):
    department: str
    score: float


class RoutingSuggestion(BaseModel):
    department: str
    confidence: float = Field(ge=0, le=1)
    why: list[str] = Field(default_factory=list, description="Words that led to the suggestion.")
    alternatives: list[Alternative] = Field(default_factory=list)
    model: str = Field(description="Engine and training size of the router.")


class Placement(BaseModel):
    department: str
    previous: str | None


class RoutingResult(BaseModel):
    case_ref: str
    status: str
    department: str | None = None
    confidence: float | None = None
    signoff_task_id: str | None = None
    error: str | None = None


class RoutingInput(BaseModel):
    """A case to route and the text to route it by (CPR numbers masked)."""

    case_id: str
    text: str
    sensitive: bool
    title: str = ""
    documents: list[EvidenceDocument] = Field(default_factory=list)


# -- steps -----------------------------------------------------------------------------------


@robot.step(kind="preparatory")
def suggest_department(case: Case, item: RoutingInput, model_dir: str | None = None,
                       ) -> RoutingSuggestion:
    """The department most likely to handle the case, with the words that led there."""
    router = load_router(model_dir)
    [ranked] = router.predict([item.text], top=3)
    best = ranked[0]
    return RoutingSuggestion(
        department=best.code, confidence=round(best.confidence, 3),
        why=reason_words(router, item.text, best.code),
        alternatives=[Alternative(department=s.code, score=round(s.confidence, 3))
                      for s in ranked[1:]],
        model=f"{router.meta.engine}, {router.meta.training_size} texts")


@robot.act(kind="preparatory")
def place_case(case: Case, decision: Decision[RoutingSuggestion]) -> Placement:
    """Set the case's department in the case system to the approved or allowed one."""
    cases = connections().cases
    before = cases.get_case(case.id)
    department = decision.value.department
    cases.set_department(case.id, department)
    return Placement(department=department, previous=before.department)


# -- the flow --------------------------------------------------------------------------------


def routing_input(client: CaseSystemClient, case_id: str) -> RoutingInput:
    """The case's title and the text of its letters, as a caseworker would skim them."""
    case = client.get_case(case_id)
    parts = [case.title]
    documents = []
    for document in client.list_documents(case_id, document_type="letter"):
        content = _document_text(client.document_content(case_id, document.id),
                                 document.content_type)
        parts.append(content)
        documents.append(EvidenceDocument(title=mask_cpr(document.title)[:300],
                                          text=mask_cpr(content)[:MAX_TEXT_CHARS],
                                          received=document.created_at))
    text = mask_cpr("\n".join(p for p in parts if p))[:MAX_TEXT_CHARS]
    return RoutingInput(case_id=case_id, text=text, sensitive=is_sensitive(text),
                        title=mask_cpr(case.title)[:300], documents=documents)


def _document_text(content: bytes, content_type: str) -> str:
    if content_type == "message/rfc822":
        message = email.message_from_bytes(content, policy=email.policy.default)
        subject = str(message.get("Subject") or "")
        body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
        if body is None:
            return subject
        text = str(body.get_content())
        return f"{subject}\n{html_to_text(text) if body.get_content_subtype() == 'html' else text}"
    if content_type.startswith("text/"):
        return content.decode("utf-8", errors="replace")
    return ""


class CaseToRoute(BaseModel):
    """A routing work item: the case to route (its text is read when the item is processed)."""

    case_id: str


def add_cases(case_ids: list[str]) -> Added:
    """Queue cases for routing (key: the case; a case is routed once)."""
    return robot.add_items(NewItem(key=case_key(case_id), payload={"case_id": case_id},
                                   case_ref=pseudonymise(case_id)) for case_id in case_ids)


@robot.flow(log_prints=False)
def routing(item_ids: list[str] | None = None, model_dir: str | None = None,
            case_system_url: str | None = None, collect: bool = True) -> ItemsReport:
    """Route the queued cases; with ``collect`` (default) first queue every open case without
    a department. Within the policy: unsure and sensitive cases wait for a caseworker."""
    load_router(model_dir)  # train or load before the first case, not inside its step time
    with (connector_settings().case_system(case_system_url) as client,
          using(Systems(cases=client))):
        if collect and item_ids is None:
            add_cases([c.id for c in client.list_cases(status="open") if c.department is None])
        token = _model_dir.set(model_dir)
        try:
            return robot.process(route_one, item_ids=item_ids)
        finally:
            _model_dir.reset(token)


_model_dir: ContextVar[str | None] = ContextVar("routing_model_dir", default=None)


def route_one(item: CaseToRoute) -> RoutingResult:
    """One case: read it, suggest a department, place the case where approved or allowed."""
    case = Case(id=item.case_id)
    read = routing_input(connections().cases, case.id)  # reads only; again on a continuation
    case = case.model_copy(update={"attributes": {"sensitive": read.sensitive},
                                   "summary": read.title or read.text[:200],
                                   "evidence": Evidence(case_number=case.id,
                                                        documents=read.documents)})
    suggested = require_signoff(suggest_department(case, read, _model_dir.get())).or_stop()
    require_signoff(place_case(case, suggested)).or_stop()
    return RoutingResult(case_ref=case.ref, status=suggested.status.value,
                         department=suggested.value.department,
                         confidence=suggested.value.confidence,
                         signoff_task_id=suggested.signoff_task_id)
