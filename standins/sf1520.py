"""A loopback SOAP stub of Serviceplatformen's SF1520 PersonBaseDataExtended v4 for tests.

It answers ``PersonLookup`` for the fictitious sample persons (``data/sample.json``) with
responses built to the official XSD and validated against it with ``xmlschema`` before they
are sent (an answer that does not validate is a 500 naming the XSD problem, so the stub cannot
drift from the schema). Unknown CPR numbers get a ServiceplatformFault, as the service does.
Faults on the wire via ``POST /_faults`` (``standins.faults``).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from xml.sax.saxutils import escape

import xmlschema
from fastapi import FastAPI, Request, Response
from lxml import etree

from connectors.cpr_sf1520 import NAMESPACE, WSDL
from standins.faults import install_faults
from standins.sample_data import SamplePerson, load_sample

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PNR_NS = "http://serviceplatformen.dk/xml/schemas/cpr/PNR/1/"
FAULT_NS = "http://serviceplatformen.dk/xml/schemas/ServiceplatformFault/1/"
MSG_XSD = WSDL.parents[2] / "PersonBaseDataExtendedServiceMsg.xsd"
FAULT_XSD = WSDL.parents[2] / "sp" / "ServiceplatformFault_1.xsd"


@lru_cache(maxsize=1)
def schema() -> xmlschema.XMLSchema:
    """The official message XSD. Its included types file uses ``cpr:PNRType`` without its own
    ``xs:import`` (strict XSD 1.0 refuses that), so it loads in lax mode: every type is
    checked except ``personnummer``'s, which the stub checks itself (10 digits)."""
    return xmlschema.XMLSchema(str(MSG_XSD), validation="lax")


@lru_cache(maxsize=1)
def fault_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(FAULT_XSD))


def _birth(person: SamplePerson) -> date:
    from connectors.cpr_sf1520 import _birth_date

    return _birth_date(person.cpr.replace("-", ""))


def person_response(person: SamplePerson) -> str:
    """``PersonLookupResponse`` for one sample person, in the order the XSD demands."""
    pnr = person.cpr.replace("-", "")
    street, _, rest = person.address.partition(" ")
    number = rest.split(",")[0] if rest else ""
    names = person.first_name.split(" ")
    first, middle = names[0], " ".join(names[1:])
    protection = ("<adressebeskyttelse><startdato>2020-01-01</startdato>"
                  "<beskyttet>true</beskyttet></adressebeskyttelse>"
                  if person.protected_address else "")
    return (
        f'<PersonLookupResponse xmlns="{NAMESPACE}">'
        f"<persondata><personnummer>{pnr}</personnummer>"
        f"<navn><personadresseringsnavn>{escape(person.last_name)},{escape(person.first_name)}"
        f"</personadresseringsnavn><fornavn>{escape(first)}</fornavn>"
        + (f"<mellemnavn>{escape(middle)}</mellemnavn>" if middle else "")
        + f"<efternavn>{escape(person.last_name)}</efternavn></navn>"
        f"<foedselsdato><dato>{_birth(person).isoformat()}</dato></foedselsdato>"
        f"<antalBoernUnder18>0</antalBoernUnder18>{protection}</persondata>"
        f"<adresse><aktuelAdresse><kommunekode>{int(person.municipality_code)}</kommunekode>"
        f"<husnummer>{escape(number)}</husnummer><bynavn>{escape(person.city)}</bynavn>"
        f"<postnummer>{person.postcode}</postnummer>"
        f"<postdistrikt>{escape(person.city)}</postdistrikt>"
        f"<vejnavn>{escape(street)}</vejnavn>"
        f"<standardadresse>{escape(person.address)}</standardadresse>"
        f"</aktuelAdresse></adresse></PersonLookupResponse>")


def fault_detail(code: str, text: str) -> str:
    return (f'<ServiceplatformFault xmlns="{FAULT_NS}"><ErrorList><Error>'
            f"<ErrorCode>{escape(code)}</ErrorCode><ErrorText>{escape(text)}</ErrorText>"
            "</Error></ErrorList></ServiceplatformFault>")


def _envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP}">'
            f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")


def _fault(code: str, text: str) -> Response:
    detail = fault_detail(code, text)
    fault_schema().validate(detail)
    body = (f"<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{escape(text)}"
            f"</faultstring><detail>{detail}</detail></soapenv:Fault>")
    return Response(_envelope(body), status_code=500, media_type="text/xml; charset=utf-8")


def create_app() -> FastAPI:
    persons = {p.cpr.replace("-", ""): p for p in load_sample().persons}
    app = FastAPI(title="SF1520 PersonBaseDataExtended stub")
    install_faults(app, lambda: None)

    @app.post("/service/CPR/PersonBaseDataExtended/4")
    async def lookup(request: Request) -> Response:
        try:
            envelope = etree.fromstring(await request.body())
        except etree.XMLSyntaxError as exc:
            return _fault("400", f"request is not XML: {exc}")
        pnr_el = envelope.find(f".//{{{PNR_NS}}}PNR")
        context = envelope.find(".//{http://serviceplatformen.dk/xml/schemas/InvocationContext/1/}"
                                "ServiceAgreementUUID")
        if context is None:
            return _fault("403", "InvocationContext mangler")
        if pnr_el is None or not (pnr_el.text or "").isdigit():
            return _fault("400", "PNR mangler eller er ugyldigt")
        person = persons.get(pnr_el.text or "")
        if person is None:
            return _fault("404", f"Person med PNR {pnr_el.text} ikke fundet")
        answer = person_response(person)
        errors = list(schema().iter_errors(answer))
        if errors:
            return Response(f"stub answer does not validate against {MSG_XSD.name}: "
                            f"{errors[0].reason} at {errors[0].path}", status_code=500)
        return Response(_envelope(answer), media_type="text/xml; charset=utf-8")

    return app
