# ruff: noqa: E501  (HTML templates read better unwrapped)
"""HTML of the legacy case system stand-in: server-rendered, table layout, Danish labels, no
ids on the data cells (as in the systems the robot meets), so the robot reads by label."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

_LAYOUT = """<!DOCTYPE html>
<html lang="da"><head><meta charset="utf-8"><title>{{ title }} - KommuneSag 4.2</title>
<style>
body { font-family: Verdana, sans-serif; font-size: 12px; background: #e8e8e8; margin: 0; }
#top { background: #003366; color: #fff; padding: 6px 10px; }
#top a { color: #fff; }
#indhold { background: #fff; margin: 10px; padding: 10px; border: 1px solid #999; }
table.data { border-collapse: collapse; }
table.data th, table.data td { border: 1px solid #aaa; padding: 3px 6px; text-align: left; }
table.data th { background: #dde4ee; }
.fejlboks { border: 1px solid #c00; background: #fee; color: #900; padding: 6px; }
.feltfejl { color: #c00; }
.besked { border: 1px solid #070; background: #efe; padding: 6px; }
</style></head>
<body><div id="top">KommuneSag 4.2 &mdash; {{ title }}
{% if user %}<span style="float:right">Logget ind som {{ user }} | <a href="/logout">Log af</a></span>{% endif %}
</div><div id="indhold">{% block body %}{% endblock %}</div></body></html>"""

_LOGIN = """{% extends "layout" %}{% block body %}
<h2>Log ind</h2>
{% if message %}<div class="besked">{{ message }}</div>{% endif %}
{% if error %}<div class="fejlboks" id="loginfejl">{{ error }}</div>{% endif %}
<form method="post" action="/login">
<table>
<tr><td><label for="brugernavn">Brugernavn</label></td>
    <td><input type="text" name="brugernavn" id="brugernavn" value="{{ username or '' }}"></td></tr>
<tr><td><label for="adgangskode">Adgangskode</label></td>
    <td><input type="password" name="adgangskode" id="adgangskode"></td></tr>
<tr><td></td><td><input type="submit" value="Log ind"></td></tr>
</table></form>{% endblock %}"""

_SEARCH = """{% extends "layout" %}{% block body %}
<h2>Søg sag</h2>
<form method="get" action="/soeg">
<label for="soegetekst">Sagsnummer eller CPR-nummer</label>
<input type="text" name="q" id="soegetekst" value="{{ q or '' }}">
<input type="submit" value="Søg">
</form>
{% if error %}<div class="fejlboks">{{ error }}</div>{% endif %}
{% if q and not error %}
<p>Antal fundne sager: {{ results|length }}</p>
<table class="data" id="soegeresultat">
<tr><th>Sagsnummer</th><th>Titel</th><th>Borger</th><th>CPR-nummer</th><th>Status</th></tr>
{% for c in results %}
<tr><td><a href="/sag/{{ c.case_number }}">{{ c.case_number }}</a></td><td>{{ c.title }}</td>
<td>{{ c.citizen_name }}</td><td>{{ c.cpr }}</td><td>{{ c.status }}</td></tr>
{% endfor %}
</table>{% endif %}{% endblock %}"""

_CASE = """{% extends "layout" %}{% block body %}
<h2>Sag {{ case.case_number }}</h2>
<table class="data" id="sagsoplysninger">
<tr><th>Sagsnummer</th><td>{{ case.case_number }}</td></tr>
<tr><th>Titel</th><td>{{ case.title }}</td></tr>
<tr><th>Borger</th><td>{{ case.citizen_name }}</td></tr>
<tr><th>CPR-nummer</th><td>{{ case.cpr }}</td></tr>
<tr><th>Status</th><td>{{ case.status }}</td></tr>
<tr><th>Ansvarlig enhed</th><td>{{ case.responsible_unit }}</td></tr>
<tr><th>Journalnummer</th><td>{{ case.journal_number }}</td></tr>
<tr><th>Oprettet</th><td>{{ case.created|dk }}</td></tr>
<tr><th>Senest ændret</th><td>{{ case.changed|dk }}</td></tr>
<tr><th>Frist</th><td>{{ case.deadline|dk if case.deadline else '' }}</td></tr>
</table>
<h3>Sagsskridt</h3>
<table class="data" id="sagsskridt">
<tr><th>Dato</th><th>Skridttype</th><th>Notat</th><th>Registreret af</th><th>Kvitteringsnr.</th></tr>
{% for s in steps %}
<tr><td>{{ s.step_date|dk }}</td><td>{{ s.step_type }}</td><td>{{ s.note }}</td>
<td>{{ s.registered_by }}</td><td>{{ s.receipt_number }}</td></tr>
{% endfor %}
</table>
<p><a href="/sag/{{ case.case_number }}/skridt/ny">Registrér sagsskridt</a> | <a href="/soeg">Søg sag</a></p>
{% endblock %}"""

_STEP_FORM = """{% extends "layout" %}{% block body %}
<h2>Registrér sagsskridt på sag {{ case.case_number }}</h2>
{% if errors %}<div class="fejlboks" id="fejlopsummering">Formularen indeholder fejl. Ret venligst
de markerede felter.</div>{% endif %}
<form method="post" action="/sag/{{ case.case_number }}/skridt">
<input type="hidden" name="formularnoegle" value="{{ form_key }}">
<table>
<tr><td><label for="skridttype">Skridttype</label></td>
<td><select name="skridttype" id="skridttype">
<option value="">-- Vælg skridttype --</option>
{% for t in step_types %}<option value="{{ t }}"{% if t == values.skridttype %} selected{% endif %}>{{ t }}</option>{% endfor %}
</select>
{% if errors.skridttype %}<span class="feltfejl" id="fejl-skridttype">{{ errors.skridttype }}</span>{% endif %}</td></tr>
<tr><td><label for="dato">Dato (dd-mm-åååå)</label></td>
<td><input type="text" name="dato" id="dato" size="10" value="{{ values.dato or '' }}">
{% if errors.dato %}<span class="feltfejl" id="fejl-dato">{{ errors.dato }}</span>{% endif %}</td></tr>
<tr><td><label for="notat">Notat</label></td>
<td><textarea name="notat" id="notat" rows="6" cols="60">{{ values.notat or '' }}</textarea>
{% if errors.notat %}<span class="feltfejl" id="fejl-notat">{{ errors.notat }}</span>{% endif %}</td></tr>
<tr><td></td><td><input type="submit" id="registrer" value="Registrér"></td></tr>
</table></form>
<p><a href="/sag/{{ case.case_number }}">Tilbage til sagen</a></p>
{% endblock %}"""

_RECEIPT = """{% extends "layout" %}{% block body %}
<h2>Kvittering</h2>
<div class="besked">Sagsskridtet er registreret.</div>
<table class="data" id="kvittering">
<tr><th>Kvitteringsnummer</th><td>{{ step.receipt_number }}</td></tr>
<tr><th>Sagsnummer</th><td>{{ step.case_number }}</td></tr>
<tr><th>Skridttype</th><td>{{ step.step_type }}</td></tr>
<tr><th>Dato</th><td>{{ step.step_date|dk }}</td></tr>
</table>
<p><a href="/sag/{{ step.case_number }}">Tilbage til sagen</a></p>
{% endblock %}"""

_ERROR = """{% extends "layout" %}{% block body %}
<h2>{{ heading }}</h2><div class="fejlboks" id="systemfejl">{{ message }}</div>
<p><a href="/soeg">Søg sag</a></p>{% endblock %}"""


def _dk(value: str) -> str:
    """ISO date → the dd-mm-åååå the old system shows."""
    year, month, day = value.split("-")
    return f"{day}-{month}-{year}"


def page_environment() -> Environment:
    env = Environment(
        loader=DictLoader({"layout": _LAYOUT, "login": _LOGIN, "search": _SEARCH, "case": _CASE,
                           "step_form": _STEP_FORM, "receipt": _RECEIPT, "error": _ERROR}),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["dk"] = _dk
    return env
