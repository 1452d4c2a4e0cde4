"""Faults on the wire, injected by the stand-in's fault script and met by the real client:
transient ones are retried until success, permanent ones fail clearly and change nothing."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from connectors.case_system import CaseSystemClient
from connectors.http import (
    MalformedResponseError,
    PermanentConnectorError,
    RetryPolicy,
    TransientConnectorError,
)

CASE = "SAG-2026-0004"


def test_503_twice_then_success(cases, case_server, inject, pending_faults, caplog) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "status": 503, "times": 2}])
    with caplog.at_level(logging.WARNING, logger="connectors.http"):
        assert cases.get_case(CASE).id == CASE
    assert pending_faults(case_server) == []
    assert caplog.text.count("503 Service Unavailable") == 2


def test_retry_after_is_honoured(cases, case_server, inject) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "status": 429, "retry_after": 0.15}])
    started = time.monotonic()
    cases.get_case(CASE)
    assert time.monotonic() - started >= 0.15


def test_gives_up_after_the_policy_attempts(cases, case_server, inject, pending_faults) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "status": 502, "times": 10}])
    with pytest.raises(TransientConnectorError) as caught:
        cases.get_case(CASE)
    assert caught.value.attempts == 4 and caught.value.status == 502
    assert str(caught.value) == (f"case system: GET /cases/{CASE} -> 502: gave up after 4 "
                                 "attempts; last: 502 Bad Gateway")
    assert pending_faults(case_server)[0]["times"] == 6


def test_timeout_then_success(case_server, inject) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "delay": 1.0}])
    retry = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.01, jitter=0)
    with CaseSystemClient(case_server.url, "test-token", timeout=0.2, retry=retry) as client:
        assert client.get_case(CASE).id == CASE


def test_dropped_connection_then_success(cases, case_server, inject) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}/documents", "drop": True}])
    assert len(cases.list_documents(CASE)) == 1


def test_drop_is_a_real_broken_connection(case_server, inject) -> None:
    """Without the client's retries: the raw HTTP client sees a protocol error, not a status."""
    inject(case_server, [{"path": f"/cases/{CASE}", "drop": True}])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{case_server.url}/cases/{CASE}",
                  headers={"Authorization": "Bearer test-token"})


def test_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.01, jitter=0)
    with CaseSystemClient(f"http://127.0.0.1:{port}", "t", retry=retry) as client, \
            pytest.raises(TransientConnectorError, match="ConnectError"):
        client.get_case(CASE)


def test_lost_answer_to_a_note_is_retried_into_one_note(cases, case_server, inject,
                                                        stats) -> None:
    """The system stores the note, the answer is lost, the client retries with the same key."""
    before = stats(case_server)
    inject(case_server, [{"path": f"/cases/{CASE}/notes", "method": "POST", "drop": True,
                          "when": "after"},
                         {"path": f"/cases/{CASE}/notes", "method": "POST", "status": 504,
                          "when": "after"}])
    note = cases.create_journal_note(CASE, "Tilbygning: afventer naboorientering.")
    assert [n.id for n in cases.list_journal_notes(CASE)] == [note.id]
    after = stats(case_server)
    assert after["journal_notes"] == before["journal_notes"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1


def test_timed_out_document_upload_is_filed_once(case_server, inject, stats) -> None:
    """The first upload answers too late but is stored; the retry with the same key is not."""
    before = stats(case_server)
    inject(case_server, [{"path": f"/cases/{CASE}/documents", "method": "POST",
                          "delay": 0.6}])
    retry = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.01, jitter=0)
    with CaseSystemClient(case_server.url, "test-token", timeout=0.3, retry=retry) as client:
        document = client.add_document(CASE, title="Facadetegning", document_type="floor_plan",
                                       filename="facade.pdf", content=b"%PDF-1.4 ...",
                                       content_type="application/pdf",
                                       idempotency_key="intake:msg-17:facade")
        time.sleep(1.0)  # let the delayed first request finish on the server
        facades = [d for d in client.list_documents(CASE) if d.filename == "facade.pdf"]
    assert [d.id for d in facades] == [document.id]
    assert stats(case_server)["documents"] == before["documents"] + 1


def test_4xx_is_not_retried_and_leaves_the_case_untouched(cases, case_server, inject,
                                                          pending_faults) -> None:
    before = cases.get_case(CASE)
    inject(case_server, [{"path": f"/cases/{CASE}/journal-number", "status": 400, "times": 3}])
    with pytest.raises(PermanentConnectorError) as caught:
        cases.set_journal_number(CASE, "02.34.02")
    assert caught.value.status == 400
    assert str(caught.value) == (f"case system: PUT /cases/{CASE}/journal-number -> 400: "
                                 "injected fault")
    assert pending_faults(case_server)[0]["times"] == 2  # tried once, not again
    assert cases.get_case(CASE) == before


def test_invalid_journal_number_names_the_field(cases) -> None:
    before = cases.get_case(CASE)
    with pytest.raises(PermanentConnectorError) as caught:
        cases.set_journal_number(CASE, "2.34")
    assert caught.value.status == 422 and "field 'body.kle'" in str(caught.value)
    assert cases.get_case(CASE) == before


def test_missing_field_names_the_field(cases, case_server, inject) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "omit_fields": ["status"]}])
    with pytest.raises(MalformedResponseError) as caught:
        cases.get_case(CASE)
    assert caught.value.field == "status"
    assert str(caught.value) == (f"case system: GET /cases/{CASE} -> 200: malformed answer: "
                                 "field 'status': Field required")
    assert cases.get_case(CASE).status == "open"  # nothing changed; next read is fine


def test_malformed_item_in_a_list_names_its_index(cases, case_server, inject) -> None:
    inject(case_server, [{"path": "/cases/*/documents", "omit_fields": ["size"]}])
    with pytest.raises(MalformedResponseError) as caught:
        cases.list_documents("SAG-2026-0001")
    assert caught.value.field == "0.size"


def test_not_json_is_malformed(cases, case_server, inject) -> None:
    inject(case_server, [{"path": f"/cases/{CASE}", "body": "<html>Gateway error</html>"}])
    with pytest.raises(MalformedResponseError, match=r"answer is not JSON"):
        cases.get_case(CASE)


def test_cpr_never_in_error_messages(cases, case_server, inject) -> None:
    inject(case_server, [{"path": "/cases/search", "status": 503, "times": 9}])
    with pytest.raises(TransientConnectorError) as caught:
        cases.cases_for_citizen("120463-5017")
    with pytest.raises(PermanentConnectorError) as refused:
        cases.get_case("120463-5017")  # a CPR used as a case id by mistake lands in the path
    assert "120463" not in str(caught.value) + str(refused.value)
    assert "XXXXXX-XXXX" in str(refused.value)


def test_fault_script_is_validated(case_server) -> None:
    response = httpx.post(f"{case_server.url}/_faults", json=[{"path": "/cases/*"}],
                          headers={"Authorization": "Bearer test-token"})
    assert response.status_code == 422
    assert "a fault needs one of" in response.text
