"""How values read in each language: numbers, percentages with a confidence word, department
and robot names, the policy's reasons as sentences, facts. Templates get one ``Present`` per
request (``fmt``); nothing here shows a slug, a field name or a condition's source text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from casework import departments
from casework.inbox import i18n
from casework.policy.titles import titles_of

#: Confidence words: at or above the first bound "høj", at or above the second "middel".
HIGH, MEDIUM = 0.8, 0.55
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONDITION = re.compile(r"^(signoff_when|could not evaluate): (.*)$")


@dataclass(frozen=True)
class Present:
    lang: str

    def t(self, key: str, **values: object) -> str:
        return i18n.translate(key, self.lang, **values)

    def has(self, key: str) -> bool:
        return i18n.has(key)

    # -- numbers ---------------------------------------------------------------------------
    def number(self, value: float | int, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang in ("da", "nb"):  # 1.234,5 (da) / 1 234,5 (nb)
            thousands = "." if self.lang == "da" else "\u00a0"
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", thousands)
        return text

    def percent(self, share: float | None, decimals: int = 0) -> str:
        if share is None:
            return "–"
        return f"{self.number(round(share * 100, decimals), decimals)}\u00a0%"

    def confidence(self, share: Any) -> str:
        """``0.62`` → "62 % (middel)"."""
        if not isinstance(share, int | float) or isinstance(share, bool):
            return "–"
        word = "high" if share >= HIGH else "medium" if share >= MEDIUM else "low"
        return f"{self.percent(float(share))} ({self.t('confidence_' + word)})"

    def day(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return value.strftime("%d.%m.%Y %H:%M" if self.lang != "en" else "%d %b %Y %H:%M")
        if isinstance(value, date):
            return value.strftime("%d.%m.%Y" if self.lang != "en" else "%d %b %Y")
        return "–"

    # -- names -----------------------------------------------------------------------------
    def department(self, department_id: str | None) -> str:
        return departments.display_name(department_id, self.lang)

    def flow(self, flow: str) -> str:
        if self.has(f"flow_{flow}"):
            return self.t(f"flow_{flow}")
        title, _ = titles_of(flow)  # a robot's own policy names it (title: {da, nb, en})
        return getattr(title, self.lang, None) or self.t("flow_unnamed")

    def step(self, flow: str, step: str) -> str:
        for key in (f"step_{flow}_{step}", f"step_{step}"):
            if self.has(key):
                return self.t(key)
        _, steps = titles_of(flow)
        found = steps.get(step)
        return getattr(found, self.lang, None) or self.t("step_unnamed")

    def decision(self, decision: str | None) -> str:
        return self.t(decision) if decision and self.has(decision) else "–"

    # -- facts -----------------------------------------------------------------------------
    def fact_label(self, key: str) -> str:
        return self.t(f"fact_{key}") if self.has(f"fact_{key}") else self.t("fact_other")

    def value(self, key: str, value: Any) -> str:
        """A fact's or field's value for a reader: yes/no, names for ids and codes, numbers
        with the locale's decimal comma."""
        if value is None or value == "" or value == []:
            return "–"
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        if isinstance(value, int):
            return self.number(value)
        if isinstance(value, float):
            return self.number(value, 2)
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.fact_label(k)}: {self.value(k, v)}"
                             for k, v in value.items())
        text = str(value)
        if _ISO_DAY.match(text):  # a date the robot stored as JSON: the reader's own format
            try:
                return self.day(date.fromisoformat(text))
            except ValueError:
                return text
        if key == "department":
            return self.department(text)
        if self.has(f"value_{key}_{text}"):
            return self.t(f"value_{key}_{text}")
        return text

    # -- reasons ---------------------------------------------------------------------------
    def building_reason(self, condition: str, payload: dict[str, Any]) -> str:
        """The building screening's BBR check: each contradiction as a sentence with BBR's own
        (Danish) use texts quoted, or why the register could not be checked."""
        found = payload.get("suggestion")
        found = found if isinstance(found, dict) else {}
        if "result.building_registry" in condition:
            key = f"reason_building_{found.get('building_registry')}"
            address = str(found.get("property_address") or "–")
            return self.t(key, address=address) if self.has(key) \
                else self.t("reason_building_unchecked")
        sentences = []
        for conflict in found.get("conflicts") or []:
            key = f"reason_building_{conflict.get('rule') if isinstance(conflict, dict) else ''}"
            if not self.has(key):
                continue
            kind = f"building_kind_{conflict.get('applied_for')}"
            details = [f"{self.number(conflict['area_m2'])} m²"] if isinstance(
                conflict.get("area_m2"), int) else []
            details += [str(conflict["year_built"])] if isinstance(
                conflict.get("year_built"), int) else []
            sentences.append(self.t(
                key, applied_for=self.t(kind) if self.has(kind) else "–",
                registered=", ".join(f"“{use}”" for use in conflict.get("registered") or []),
                details=f" ({', '.join(details)})" if details else ""))
        return " ".join(sentences) or self.t("reason_building_conflict")

    def reason(self, reason: str, payload: dict[str, Any]) -> str:
        """A policy reason as a sentence for the caseworker, never the condition's source."""
        if reason.startswith("policy mode is signoff"):
            return self.t("reason_mode_signoff")
        if reason.startswith("policy mode is shadow"):
            return self.t("reason_shadow")
        if reason.startswith("flow stopped by an automation admin"):
            return self.t("reason_stopped")
        if reason.startswith("autonomy not earned"):
            return self.t("reason_not_earned")
        if reason.startswith("random audit sample"):
            return self.t("reason_audit_sample")
        if reason.startswith("robot could not finish"):
            found = payload.get("suggestion") if isinstance(payload.get("suggestion"), dict) else {}
            return self.t("reason_robot_failed", attempts=found.get("attempts") or "?")
        if reason.startswith("decision step") or reason.startswith("step declared"):
            return self.t("reason_decision")
        match = _CONDITION.match(reason)
        if match is None:
            return self.t("reason_rule")
        if match.group(1) == "could not evaluate":
            return self.t("reason_unknown_fact")
        condition = match.group(2)
        suggestion = payload.get("suggestion")
        if ("result.conflicts" in condition or "result.building_registry" in condition) \
                and isinstance(suggestion, dict) and "building_registry" in suggestion:
            return self.building_reason(condition, payload)  # the building check's result
        if "confidence" in condition:
            return self.t("reason_unsure", confidence=self.percent(
                payload.get("confidence") if isinstance(payload.get("confidence"), int | float)
                else None))
        for word, key in (("sensitive", "reason_sensitive"),
                          ("protected_address", "reason_protected_address"),
                          ("'none'", "reason_not_identified"),
                          ("'sender_name'", "reason_identified_by_name"),
                          ("type_certain", "reason_type_uncertain"),
                          ("unsure", "reason_documents_unsure")):
            if word in condition:
                return self.t(key)
        return self.t("reason_rule")
