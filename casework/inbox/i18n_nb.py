"""Norwegian (bokmål) for every text in ``casework.inbox.i18n.TEXTS`` (a test keeps the two
key sets equal)."""

from __future__ import annotations

NB: dict[str, str] = {
    "app_title": "Godkjenningsinnboks",
    "skip_to_content": "Gå til innhold",
    "nav_queue": "Min kø",
    "nav_reports": "Rapporter",
    "reports_title": "Rapport over spart tid",
    "reports_intro": (
        "Excel-arbeidsbok med sparte timer, årsverk og kvalitet for en periode, beregnet ut fra "
        "robotenes målte tidsregnskap."),
    "report_from": "Fra dato",
    "report_to": "Til dato",
    "report_department": "Avdeling",
    "report_flow": "Robot, valgfri",
    "report_language": "Språk i rapporten",
    "report_download": "Last ned rapport",
    "nav_history": "Mine godkjenninger",
    "nav_oversight": "Teamoversikt",
    "logout": "Logg ut",
    "logout_everywhere": "Logg ut på alle enheter",
    "signed_in_as": "Logget inn som",
    "login_title": "Logg inn",
    "dev_login_warning": (
        "LOKAL UTVIKLING: velg en testbruker. Denne siden må aldri være slått på i drift."),
    "login_not_configured": "Det er ikke satt opp noen innlogging. Kontakt systemansvarlig.",
    "login_failed": "Innloggingen mislyktes eller er utløpt. Prøv igjen.",
    "login_provider_unavailable": (
        "Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen om litt."),
    "account_not_set_up": (
        "Kontoen din er ikke satt opp for innboksen. Be en automatiseringsansvarlig om tilgang."),
    "account_id_for_admin": "Gi den ansvarlige denne bruker-ID-en: {subject}",
    "logging_out": "Du logges ut …",
    "continue": "Fortsett",
    "logged_out": "Du er logget ut.",
    "login_again": "Logg inn igjen",
    "choose_user": "Velg bruker",
    "login_button": "Logg inn",
    "queue_title": "Oppgaver til godkjenning",
    "filter": "Filtrer",
    "department": "Avdeling",
    "flow": "Robot",
    "step": "Trinn",
    "deadline": "Frist",
    "created": "Opprettet",
    "all": "Alle",
    "overdue": "Over fristen",
    "today": "I dag",
    "week": "Denne uken",
    "sort": "Sorter etter",
    "no_tasks": "Ingen oppgaver.",
    "open": "Åpne",
    "claimed_by": "Tatt av",
    "previous": "Forrige",
    "next": "Neste",
    "page": "Side",
    "case": "Sak",
    "case_summary": "Sakens innhold",
    "suggestion": "Robotens forslag",
    "confidence": "Sikkerhet",
    "why": "Begrunnelse",
    "alternatives": "Alternativer",
    "sources": "Kilder",
    "signoff_reasons": "Derfor skal den godkjennes",
    "policy_step": "Trinn i regelverket",
    "policy_version": "regelversjon",
    "four_eyes_note": (
        "Fireøyneprinsippet: den som har godkjent eller rettet et tidligere trinn i saken, kan "
        "verken godkjenne eller rette dette trinnet."),
    "status": "Status",
    "awaiting": "Venter",
    "decided": "Behandlet",
    "approve": "Godkjenn",
    "amend": "Rett og godkjenn",
    "reject": "Avvis",
    "reason": "Begrunnelse",
    "reason_required": "Skriv en begrunnelse.",
    "amend_value": "Rettet forslag (JSON)",
    "invalid_json": (
        "Det rettede forslaget må være et gyldig JSON-objekt (tall som NaN og Infinity er ikke "
        "tillatt)."),
    "choose_kle": "Velg et annet journalnummer",
    "search_kle": "Søk i KLE (nummer, tittel eller stikkord)",
    "search": "Søk",
    "unknown_kle": "Ukjent KLE-nummer.",
    "value_field_invalid": (
        "Feltet «{field}» har ikke en gyldig verdi for dette trinnet (feil type eller utenfor "
        "det tillatte). Ingenting er lagret."),
    "value_field_unknown": "Feltet «{field}» finnes ikke i trinnets resultat. Ingenting er lagret.",
    "text_too_long": (
        "Teksten er for lang: høyst {max} tegn. Ingenting er lagret; kort ned teksten og prøv "
        "igjen."),
    "claim": "Ta oppgaven",
    "release": "Frigi",
    "reassign": "Gi til",
    "claimed_by_other": "Oppgaven er tatt av {name}.",
    "already_decided": "Oppgaven er allerede behandlet ({decision}) av {name}.",
    "four_eyes_refused": (
        "Du har selv godkjent eller rettet et tidligere trinn i denne saken og kan derfor verken "
        "godkjenne eller rette dette trinnet (fireøyneprinsippet). En kollega må gjøre det."),
    "stale": "Oppgaven er endret siden du åpnet den. Se på den igjen.",
    "decision_saved": "Behandlingen er lagret: {decision}.",
    "approved": "godkjent",
    "manual": "gått over til manuell behandling (fristen er passert)",
    "amended": "rettet",
    "rejected": "avvist",
    "history_title": "Mine godkjenninger",
    "decision": "Utfall",
    "decided_at": "Behandlet",
    "oversight_title": "Teamoversikt: menneskelig tilsyn",
    "oversight_intro": (
        "Høy enighet og mange raske godkjenninger kan være tegn på automatiseringsskjevhet "
        "(EUs KI-forordning art. 14)."),
    "decisions": "Behandlede oppgaver",
    "agreement_rate": "Enighet (godkjent uendret)",
    "fast_approvals": "Raske godkjenninger (< {seconds} s)",
    "avg_review": "Gjennomsnittlig gjennomgang (s)",
    "not_found": "Siden finnes ikke.",
    "forbidden": "Du har ikke tilgang.",
    "bad_request": "Ugyldig forespørsel.",
    "csrf_failed": "Skjemaet er utløpt. Last inn siden på nytt og prøv igjen.",
    "back_to_queue": "Tilbake til køen",
    "language": "Språk",
    "save": "Lagre",
    "none": "Ingen",
    "nav_flows": "Roboter",
    "shadow_hidden": (
        "Skyggedrift: løs oppgaven selv. Robotens svar er skjult til du har svart, og brukes "
        "bare til å måle hvor ofte roboten og du er enige."),
    "shadow_answer": "Ditt svar",
    "shadow_submit": "Lagre svaret mitt",
    "shadow_search_first": "Søk i KLE ovenfor for å velge et emne.",
    "shadow_agreed": "Roboten kom fram til samme svar.",
    "shadow_differed": "Roboten foreslo noe annet.",
    "answer": "svaret ditt er lagret",
    "optional": "valgfritt",
    "earned_title": "Opptjent selvstendighet",
    "earned_intro": (
        "Trinn som bare kjører selv når saksbehandlerne har beholdt nok av robotens forslag "
        "uendret. Faller enigheten, går trinnet automatisk tilbake til godkjenning."),
    "earned_mode": "Modus nå",
    "earned_yes": "Kjører selv (opptjent)",
    "earned_no": "Godkjenning til det er opptjent",
    "earned_sample": "Beholdt / behandlede",
    "earned_threshold": "Krav / vindu",
    "threshold_title": "Treffsikkerhet ved sikkerhetsgrensen",
    "threshold_intro": (
        "Under grensen spør roboten en saksbehandler. Robotens sikkerhet er en målt "
        "sannsynlighet: ved 80 % skal minst 8 av 10 forslag holde. Her ser du hvor mange av de "
        "siste forslagene en person vurderte (sensitive saker og stikkprøver), som ble beholdt "
        "uendret, over og under grensen."),
    "threshold_limit": "Grense",
    "threshold_above": "Beholdt ved grensen eller over",
    "threshold_below": "Beholdt under grensen",
    "threshold_window": "Siste vurderinger tatt med",
    "threshold_kept": "{kept} av {judged}",
    "threshold_none": "ingen vurdert ennå",
    "flows_title": "Roboter og stoppknapp",
    "flows_intro": (
        "Når en robot er stoppet, må hvert trinn den utfører godkjennes av en saksbehandler, "
        "uansett hva regelverket sier. Det gjelder fra neste trinn, også i kjøringer som er i "
        "gang. Hver endring logges."),
    "flow_state": "Tilstand",
    "flow_changed": "Sist endret",
    "flow_action": "Handling",
    "flow_stopped": "Stoppet",
    "flow_running": "Kjører etter regelverket",
    "flow_stop": "Stopp roboten",
    "flow_restart": "Start igjen",
    "overdue_reminded": "Fristen er passert; påminnelse sendt",
    "overdue_reassigned": "Fristen er passert; gitt tilbake til teamet",
    "explanation_link": "Forklaring til innbyggeren",
    "explanation_title": "Forklaring til innbyggeren",
    "explanation_intro": (
        "Teksten forklarer innbyggeren hvilke automatiske trinn som har behandlet saken, hvilke "
        "opplysninger de brukte, hvem som bestemte og på hvilket rettsgrunnlag. Les den "
        "gjennom før den sendes."),
    "explanation_language": "Språk i forklaringen",
    "lang_da": "Dansk",
    "lang_nb": "Norsk (bokmål)",
    "lang_en": "Engelsk",
    "back_to_task": "Tilbake til oppgaven",
    "review_request_title": "Innbyggeren ber om menneskelig overprøving",
    "review_request_intro": (
        "Registrer innbyggerens anmodning. Den blir en oppgave for en medarbeider som ikke har "
        "vært med i saken (personvernforordningen art. 22 nr. 3)."),
    "review_step": "Trinn som skal overprøves",
    "review_whole_case": "Sakens automatiske behandling (siste utfall)",
    "review_requested_via": "Mottatt via",
    "via_letter": "Brev",
    "via_email": "E-post",
    "via_digital_post": "Digital post",
    "via_phone": "Telefon",
    "via_in_person": "Personlig oppmøte",
    "via_self_service": "Selvbetjening",
    "review_reason": "Innbyggerens begrunnelse",
    "review_submit": "Registrer anmodningen",
    "review_assigned": "Anmodningen er registrert og gitt til {name}.",
    "review_unassigned": (
        "Anmodningen er registrert. Ingen i avdelingen som ikke har vært med i saken kan ta "
        "den, så den ligger i teamets kø."),
    "review_request_invalid": (
        "Anmodningen kunne ikke registreres: velg hvordan den er mottatt, og skriv "
        "innbyggerens begrunnelse."),
    "review_task_title": "Menneskelig overprøving etter innbyggerens anmodning",
    "review_task_intro": (
        "Innbyggeren har bedt om at en person går gjennom et automatisk trinn. Du har ikke vært "
        "med i saken. Godkjenn for å la resultatet stå, rett det, eller avvis det."),
    "review_history": "Sakens historikk",
    "hearing_title": "Partshøring",
    "hearing_sent": "Høringsbrevet ble sendt {sent}. Svarfrist: {deadline}.",
    "hearing_reply_received": "Svar registrert {at} av {name}.",
    "hearing_note": "Notat om svaret (valgfritt)",
    "hearing_register_reply": "Registrer partens svar",
    "hearing_reply_saved": "Partens svar er registrert; saken kan nå behandles videre.",
    "hearing_reply_refused": "Svaret kunne ikke registreres: {why}",
    "review_participant_refused": (
        "Du har vært med i saken og kan derfor ikke overprøve den (personvernforordningen "
        "art. 22 nr. 3)."),
}
