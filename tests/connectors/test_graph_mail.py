"""The Microsoft Graph mail source with a real MSAL login against a loopback fake of the
identity platform and Graph over HTTPS: paging, raw MIME, attachments, move, throttling
(429 + Retry-After, and a storm that outlasts the retries), an expired token renewed once,
wrong credentials, malformed mail kept in Afvist."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connectors.graph_mail import GraphMailbox, GraphSettings, msal_token_source
from connectors.http import PermanentConnectorError, RetryPolicy, TransientConnectorError
from connectors.interfaces import MailSource
from standins import graph_mail
from standins.mail_drop import build_message, sample_letters
from standins.server import LoopbackServer, serving
from standins.tls import LoopbackTls, make_loopback_tls

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01,
                   retry_after_cap=0.2)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LoopbackTls:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


_OPEN: list[GraphMailbox] = []


@pytest.fixture
def graph(tls: LoopbackTls) -> Iterator[LoopbackServer]:
    with serving(graph_mail.create_app(), tls=tls.server) as server:
        yield server
        while _OPEN:  # close every mailbox first: idle TLS connections hold a stop up
            _OPEN.pop().close()


def trust(tls: LoopbackTls) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca_file))


def admin(server: LoopbackServer, tls: LoopbackTls, path: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(verify=trust(tls)) as client:
        response = client.post(server.url + path, **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return response


def counts(server: LoopbackServer, tls: LoopbackTls) -> dict[str, int]:
    with httpx.Client(verify=trust(tls)) as client:
        return client.get(server.url + "/_admin/folders").json()




def mailbox(server: LoopbackServer, tls: LoopbackTls, *, secret: str = graph_mail.CLIENT_SECRET,
            page_size: int = 2, retry: RetryPolicy = FAST) -> GraphMailbox:
    auth = msal_token_source(f"{server.url}/{graph_mail.TENANT}", graph_mail.CLIENT_ID,
                             client_secret=secret, verify=str(tls.ca_file), timeout=5.0)
    box = GraphMailbox(GraphSettings(mailbox=graph_mail.MAILBOX, graph_url=server.url + "/v1.0",
                                     page_size=page_size),
                       auth, timeout=5.0, retry=retry, verify=str(tls.ca_file))
    _OPEN.append(box)
    return box


def deliver_samples(server: LoopbackServer, tls: LoopbackTls) -> list[dict]:
    return [admin(server, tls, "/_admin/deliver", content=bytes(build_message(letter))).json()
            for letter in sample_letters()]


def test_letters_paged_fetched_as_mime_and_moved_when_acknowledged(
        graph: LoopbackServer, tls: LoopbackTls) -> None:
    deliver_samples(graph, tls)  # 4 letters, 2 per page: paging via @odata.nextLink
    box = mailbox(graph, tls)
    assert isinstance(box, MailSource)
    letters = box.fetch_pending()
    assert [letter.sender_name for letter in letters] == [
        "Karen Holm Sørensen", "Mads Nørgaard Petersen", "Lise Dam Andersen", "Peter Hviid"]
    assert b"Message-ID" in letters[0].raw
    assert len(box.fetch_pending()) == 4  # fetching changed nothing
    box.acknowledge(letters[0].message_id)
    box.acknowledge(letters[0].message_id)  # twice is harmless
    assert counts(graph, tls) == {"Inbox": 3, "Behandlet": 1}
    mailbox(graph, tls).acknowledge(letters[1].message_id)  # a new process, by Message-ID
    assert counts(graph, tls) == {"Inbox": 2, "Behandlet": 2}


def test_attachments_as_graph_lists_them(graph: LoopbackServer, tls: LoopbackTls) -> None:
    first = deliver_samples(graph, tls)[0]
    found = mailbox(graph, tls).attachments(first["id"])
    assert [(a.filename, a.content_type) for a in found] == [
        ("facadetegning.pdf", "application/pdf"), ("bemaerkninger.txt", "text/plain")]
    assert found[1].text and found[0].data.startswith(b"%PDF")


def test_throttling_is_waited_out(graph: LoopbackServer, tls: LoopbackTls) -> None:
    deliver_samples(graph, tls)
    admin(graph, tls, "/_admin/throttle", json={"times": 3, "retry_after": 0.05})
    assert len(mailbox(graph, tls).fetch_pending()) == 4


def test_a_429_storm_gives_a_clear_error_and_loses_nothing(graph: LoopbackServer,
                                                           tls: LoopbackTls) -> None:
    deliver_samples(graph, tls)
    box = mailbox(graph, tls)
    letters = box.fetch_pending()
    admin(graph, tls, "/_admin/throttle", json={"times": 100, "retry_after": 0.01})
    with pytest.raises(TransientConnectorError) as caught:
        box.acknowledge(letters[0].message_id)
    assert "-> 429: gave up after 4 attempts" in str(caught.value)
    admin(graph, tls, "/_admin/throttle", json={"times": 0})
    assert counts(graph, tls) == {"Inbox": 4}  # still there: the next run takes it again
    assert len(mailbox(graph, tls).fetch_pending()) == 4


def test_an_expired_token_is_renewed_once(graph: LoopbackServer, tls: LoopbackTls) -> None:
    deliver_samples(graph, tls)
    box = mailbox(graph, tls)
    box.fetch_pending()
    assert box._client.auth.fetched == 1  # type: ignore[union-attr]
    admin(graph, tls, "/_admin/expire-tokens")
    assert len(box.fetch_pending()) == 4
    assert box._client.auth.fetched == 2  # type: ignore[union-attr]


def test_wrong_secret_is_a_clear_permanent_error(graph: LoopbackServer, tls: LoopbackTls) -> None:
    with pytest.raises(PermanentConnectorError) as caught:
        mailbox(graph, tls, secret="forkert").fetch_pending()
    assert "token refused (invalid_client: AADSTS7000215" in str(caught.value)
    assert "forkert" not in str(caught.value)


def test_malformed_mail_is_kept_in_afvist(graph: LoopbackServer, tls: LoopbackTls) -> None:
    admin(graph, tls, "/_admin/deliver", content=b"Subject: hej\r\n\r\nno sender\r\n")
    admin(graph, tls, "/_admin/deliver", content=bytes(build_message(sample_letters()[1])))
    box = mailbox(graph, tls)
    assert [x.sender_name for x in box.fetch_pending()] == ["Mads Nørgaard Petersen"]
    assert [reason for _id, reason in box.rejected] == ["no sender address (From header)"]
    assert counts(graph, tls) == {"Inbox": 1, "Afvist": 1}


def rsa_certificate(path: Path, *, with_key: bool = True) -> Path:
    """An RSA app certificate (Entra ID wants RSA), PEM with its key, as an admin exports it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casework robot")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if with_key:
        pem += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def test_certificate_login(graph: LoopbackServer, tls: LoopbackTls, tmp_path: Path) -> None:
    pem = rsa_certificate(tmp_path / "robot.pem")
    auth = msal_token_source(f"{graph.url}/{graph_mail.TENANT}", graph_mail.CLIENT_ID,
                             certificate_file=pem, verify=str(tls.ca_file))
    with GraphMailbox(GraphSettings(mailbox=graph_mail.MAILBOX, graph_url=graph.url + "/v1.0"),
                      auth, retry=FAST, verify=str(tls.ca_file)) as box:
        assert "readable" in box.check()
    only_cert = rsa_certificate(tmp_path / "cert-only.pem", with_key=False)
    with pytest.raises(ValueError, match="no private key"):
        msal_token_source("https://x/y", "id", certificate_file=only_cert)
    with pytest.raises(ValueError, match="must be RSA"):
        ec_pem = tmp_path / "ec.pem"
        ec_pem.write_bytes(tls.cert_file.read_bytes() + tls.key_file.read_bytes())
        msal_token_source("https://x/y", "id", certificate_file=ec_pem)
