"""CPR person lookup through Serviceplatformen: SF1520 PersonBaseDataExtended v4
(``PersonLookup``), a SOAP service called with ``zeep`` on the official WSDL/XSD shipped in
``connectors/data/sf1520`` (copies from itk-dev/serviceplatformen, MIT, licence alongside).

Serviceplatformen authenticates the municipality's IT system by its OCES/FOCES certificate
(mutual TLS) and the call by an InvocationContext (service agreement, user system, user and
service UUIDs). The answer maps to ``connectors.registry.Person``; ``adressebeskyttelse``
(navne- og adressebeskyttelse) becomes ``protected_address``, which the flows carry as the
case's ``sensitive`` attribute.

Transport faults and HTTP 5xx without a SOAP body are retried; a SOAP fault is the service's
considered answer and is not: "not found" raises ``NotFoundError``, anything else
``PermanentConnectorError`` with the ServiceplatformFault's code and text (CPR masked).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field
from zeep import Client, Settings
from zeep.exceptions import Fault, TransportError, XMLSyntaxError
from zeep.transports import Transport

from casework.privacy import mask_cpr
from connectors.http import (
    MalformedResponseError,
    NotFoundError,
    PermanentConnectorError,
    RetryPolicy,
)
from connectors.registry import Person
from connectors.retrying import with_retries

log = logging.getLogger(__name__)

WSDL = Path(__file__).with_name("data") / "sf1520" / "wsdl" / "context" / \
    "PersonBaseDataExtendedService.wsdl"
NAMESPACE = "http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/"
BINDING = f"{{{NAMESPACE}}}PersonBaseDataExtendedBinding"
SYSTEM = "CPR (SF1520)"
_NOT_FOUND = ("ikke fundet", "not found", "findes ikke", "ukendt")


class InvocationContext(BaseModel):
    """Who calls: from the municipality's service agreement on Serviceplatformen."""

    model_config = ConfigDict(frozen=True)

    service_agreement_uuid: str = Field(min_length=36, max_length=36)
    user_system_uuid: str = Field(min_length=36, max_length=36)
    user_uuid: str = Field(min_length=36, max_length=36)
    service_uuid: str = Field(min_length=36, max_length=36)  # SF1520's, from the agreement
    accounting_info: str | None = None

    def soap(self) -> dict[str, Any]:
        context = {"ServiceAgreementUUID": self.service_agreement_uuid,
                   "UserSystemUUID": self.user_system_uuid, "UserUUID": self.user_uuid,
                   "ServiceUUID": self.service_uuid}
        if self.accounting_info:
            context["AccountingInfo"] = self.accounting_info
        return context


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransportError):
        return exc.status_code in (429, 500, 502, 503, 504)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout))


class Sf1520Client:
    """``Sf1520Client(url, context, certificate=("cert.pem", "key.pem"))``.

    ``certificate`` is the FOCES certificate and key for mutual TLS; ``verify`` a CA bundle
    path when Serviceplatformen's chain is not in the system store.
    """

    def __init__(self, endpoint_url: str, context: InvocationContext, *,
                 certificate: tuple[str, str] | str | None = None, verify: bool | str = True,
                 timeout: float = 15.0, retry: RetryPolicy | None = None) -> None:
        session = requests.Session()
        session.cert = certificate
        session.verify = verify
        self._session = session
        transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        client = Client(str(WSDL), transport=transport,
                        settings=Settings(strict=True, xml_huge_tree=False))
        self._service = client.create_service(BINDING, endpoint_url)
        self.endpoint_url = endpoint_url
        self.context = context
        self.retry = retry or RetryPolicy()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Sf1520Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def person(self, cpr: str) -> Person:
        pnr = cpr.replace("-", "").replace(" ", "")
        if len(pnr) != 10 or not pnr.isdigit():
            raise ValueError("not a CPR number (10 digits)")
        answer = self._call(pnr)
        return self._to_person(answer, pnr)

    def find_person(self, cpr: str) -> Person | None:
        try:
            return self.person(cpr)
        except NotFoundError:
            return None

    def check(self) -> str:
        """Reach the endpoint and read its WSDL (for ``casework doctor``; no CPR sent)."""
        response = self._session.get(self.endpoint_url + "?wsdl", timeout=10)
        if response.status_code >= 400:
            raise PermanentConnectorError(SYSTEM, "GET", self.endpoint_url + "?wsdl",
                                          "endpoint refused", status=response.status_code)
        return f"{self.endpoint_url} reachable with the configured certificate"

    # -- SOAP --------------------------------------------------------------------------------

    def _call(self, pnr: str) -> Any:
        def once() -> Any:
            return self._service.PersonLookup(InvocationContext=self.context.soap(), PNR=pnr)

        try:
            return with_retries(once, policy=self.retry, is_transient=_is_transient,
                                system=SYSTEM, operation="PersonLookup",
                                target=self.endpoint_url)
        except Fault as fault:
            text = _fault_text(fault)
            error = NotFoundError if any(w in text.lower() for w in _NOT_FOUND) \
                else PermanentConnectorError
            raise error(SYSTEM, "PersonLookup", self.endpoint_url, f"SOAP fault: {text}") \
                from None
        except TransportError as exc:
            raise PermanentConnectorError(SYSTEM, "PersonLookup", self.endpoint_url,
                                          f"HTTP {exc.status_code}: {mask_cpr(str(exc))[:200]}",
                                          status=exc.status_code) from None
        except (XMLSyntaxError, ValueError) as exc:
            raise MalformedResponseError(SYSTEM, "PersonLookup", self.endpoint_url,
                                         f"answer does not match the WSDL: {exc}") from None

    def _to_person(self, answer: Any, pnr: str) -> Person:
        data, address = answer["persondata"], answer["adresse"]
        current = address["aktuelAdresse"] if address is not None else None
        if data is None or data["navn"] is None or current is None:
            missing = "persondata" if data is None else "navn" if data["navn"] is None \
                else "adresse.aktuelAdresse"
            raise MalformedResponseError(SYSTEM, "PersonLookup", self.endpoint_url,
                                         f"malformed answer: field '{missing}' missing",
                                         field=missing)
        name = data["navn"]
        first = " ".join(p for p in (name["fornavn"], name["mellemnavn"]) if p)
        born = data["foedselsdato"]["dato"] if data["foedselsdato"] is not None \
            else _birth_date(pnr)
        protection = data["adressebeskyttelse"]
        protected = bool(protection is not None and protection["beskyttet"] is not False
                         and (protection["slutdato"] is None
                              or protection["slutdato"] >= date.today()))
        street = current["standardadresse"] or " ".join(
            p for p in (current["vejadresseringsnavn"], current["husnummer"]) if p)
        return Person(cpr=f"{pnr[:6]}-{pnr[6:]}", first_name=first,
                      last_name=name["efternavn"] or "", address=street or "",
                      postcode=str(current["postnummer"] or ""),
                      city=current["postdistrikt"] or "",
                      municipality_code=str(current["kommunekode"] or ""),
                      birth_date=born, protected_address=protected)


def _fault_text(fault: Fault) -> str:
    parts = [str(fault.message or "fault")]
    if fault.detail is not None:
        codes = [el.text for el in fault.detail.iter() if el.tag.endswith("ErrorCode")]
        texts = [el.text for el in fault.detail.iter() if el.tag.endswith("ErrorText")]
        parts += [f"{code}: {text}" for code, text in zip(codes, texts, strict=False)]
    return mask_cpr("; ".join(parts))


def _birth_date(pnr: str) -> date:
    """Birth date from a CPR number (7th digit and year give the century)."""
    day, month, year, seventh = int(pnr[:2]), int(pnr[2:4]), int(pnr[4:6]), int(pnr[6])
    if seventh <= 3 or (seventh in (4, 9) and year >= 37):
        century = 1900
    elif seventh in (4, 9):
        century = 2000
    else:
        century = 2000 if year <= 57 else 1800
    return date(century + year, month, day)
