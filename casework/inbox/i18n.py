"""All UI text, in Danish (default), Norwegian (bokmål) and English. Templates call
``t("key")``. ``TEXTS`` holds (Danish, English) with the Norwegian in ``i18n_nb.NB``; the task
page's texts are in ``i18n_task.TASK_TEXTS`` as (Danish, Norwegian, English)."""

from __future__ import annotations

from casework.inbox.i18n_nb import NB
from casework.inbox.i18n_task import TASK_TEXTS

LANGUAGES = ("da", "nb", "en")
DEFAULT = "da"

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Danish, English)
    "app_title": ("Godkendelsesindbakke", "Sign-off inbox"),
    "skip_to_content": ("Gå til indhold", "Skip to content"),
    "nav_queue": ("Min kø", "My queue"),
    "nav_reports": ("Rapporter", "Reports"),
    "reports_title": ("Rapport over sparet tid", "Time-saved report"),
    "reports_intro": (
        "Excel-projektmappe med sparede timer, årsværk og kvalitet for en periode, "
        "beregnet fra robotternes målte tidsregnskab.",
        "Excel workbook with hours saved, full-time equivalents and quality for a period, "
        "computed from the robots' measured time-savings ledger."),
    "report_from": ("Fra dato", "From date"),
    "report_to": ("Til dato", "To date"),
    "report_department": ("Afdeling", "Department"),
    "report_flow": ("Robot, valgfri", "Robot, optional"),
    "report_language": ("Sprog i rapporten", "Report language"),
    "report_download": ("Hent rapport", "Download report"),
    "nav_history": ("Mine godkendelser", "My sign-offs"),
    "nav_oversight": ("Teamoverblik", "Team overview"),
    "logout": ("Log ud", "Log out"),
    "logout_everywhere": ("Log ud på alle enheder", "Log out everywhere"),
    "signed_in_as": ("Logget ind som", "Signed in as"),
    "login_title": ("Log ind", "Log in"),
    "dev_login_warning": (
        "LOKAL UDVIKLING: vælg en testbruger. Denne side må aldrig være slået til i drift.",
        "LOCAL DEVELOPMENT: pick a test user. This page must never be enabled in production.",
    ),
    "login_not_configured": (
        "Der er ikke sat noget login op. Kontakt systemadministratoren.",
        "No login is configured. Contact the system administrator.",
    ),
    "login_failed": (
        "Login mislykkedes eller er udløbet. Prøv igen.",
        "The login failed or expired. Please try again.",
    ),
    "login_provider_unavailable": (
        "Login-tjenesten svarer ikke lige nu. Prøv igen om lidt.",
        "The login service is not responding. Please try again shortly.",
    ),
    "account_not_set_up": (
        "Din konto er ikke sat op til indbakken. Bed en automatiseringsadministrator om "
        "adgang.",
        "Your account is not set up for the inbox; ask an automation admin.",
    ),
    "account_id_for_admin": (
        "Giv administratoren dette bruger-id: {subject}",
        "Give the administrator this user id: {subject}",
    ),
    "logging_out": ("Du logges ud …", "Logging you out …"),
    "continue": ("Fortsæt", "Continue"),
    "logged_out": ("Du er logget ud.", "You are logged out."),
    "login_again": ("Log ind igen", "Log in again"),
    "choose_user": ("Vælg bruger", "Choose user"),
    "login_button": ("Log ind", "Log in"),
    "queue_title": ("Opgaver til godkendelse", "Tasks awaiting sign-off"),
    "filter": ("Filtrer", "Filter"),
    "department": ("Afdeling", "Department"),
    "flow": ("Robot", "Robot"),
    "step": ("Trin", "Step"),
    "deadline": ("Frist", "Deadline"),
    "created": ("Oprettet", "Created"),
    "all": ("Alle", "All"),
    "overdue": ("Overskredet", "Overdue"),
    "today": ("I dag", "Today"),
    "week": ("Denne uge", "This week"),
    "sort": ("Sortér efter", "Sort by"),
    "no_tasks": ("Ingen opgaver.", "No tasks."),
    "open": ("Åbn", "Open"),
    "claimed_by": ("Taget af", "Claimed by"),
    "previous": ("Forrige", "Previous"),
    "next": ("Næste", "Next"),
    "page": ("Side", "Page"),
    "case": ("Sag", "Case"),
    "case_summary": ("Sagens indhold", "Case summary"),
    "suggestion": ("Robottens forslag", "The robot's suggestion"),
    "confidence": ("Sikkerhed", "Confidence"),
    "why": ("Begrundelse", "Why"),
    "alternatives": ("Alternativer", "Alternatives"),
    "sources": ("Kilder", "Sources"),
    "signoff_reasons": ("Derfor skal den godkendes", "Why it needs sign-off"),
    "policy_step": ("Trin i reglerne", "Step in the rules"),
    "policy_version": ("regelversion", "rules version"),
    "four_eyes_note": (
        "Fire-øjne-princippet: den der har godkendt eller rettet et tidligere trin i sagen, må "
        "hverken godkende eller rette dette trin.",
        "Four-eyes rule: whoever approved or amended an earlier step of this case may neither "
        "approve nor amend this one.",
    ),
    "status": ("Status", "Status"),
    "awaiting": ("Afventer", "Awaiting"),
    "decided": ("Behandlet", "Done"),
    "approve": ("Godkend", "Approve"),
    "amend": ("Ret og godkend", "Amend and approve"),
    "reject": ("Afvis", "Reject"),
    "reason": ("Begrundelse", "Reason"),
    "reason_required": ("Skriv en begrundelse.", "Please give a reason."),
    "amend_value": ("Rettet forslag (JSON)", "Amended suggestion (JSON)"),
    "invalid_json": (
        "Det rettede forslag skal være et gyldigt JSON-objekt (tal som NaN og Infinity er "
        "ikke tilladt).",
        "The amended value must be a valid JSON object (numbers such as NaN and Infinity are "
        "not allowed)."
    ),
    "choose_kle": ("Vælg et andet journalnummer", "Choose another journal number"),
    "search_kle": ("Søg i KLE (nummer, titel eller stikord)",
                   "Search KLE (number, title or keyword)"),
    "search": ("Søg", "Search"),
    "unknown_kle": ("Ukendt KLE-nummer.", "Unknown KLE number."),
    "value_field_invalid": (
        "Feltet »{field}« har ikke en gyldig værdi for dette trin (forkert type eller "
        "uden for det tilladte). Intet er gemt.",
        "The field “{field}” does not hold a valid value for this step (wrong type or out of "
        "range). Nothing was saved."),
    "value_field_unknown": (
        "Feltet »{field}« findes ikke i trinnets resultat. Intet er gemt.",
        "The field “{field}” is not part of this step's result. Nothing was saved."),
    "text_too_long": (
        "Teksten er for lang: højst {max} tegn. Intet er gemt; forkort teksten og prøv igen.",
        "The text is too long: at most {max} characters. Nothing was saved; shorten it and "
        "try again."),
    "claim": ("Tag opgaven", "Claim task"),
    "release": ("Frigiv", "Release"),
    "reassign": ("Giv til", "Reassign to"),
    "claimed_by_other": ("Opgaven er taget af {name}.", "The task is claimed by {name}."),
    "already_decided": (
        "Opgaven er allerede behandlet ({decision}) af {name}.",
        "The task was already decided ({decision}) by {name}.",
    ),
    "four_eyes_refused": (
        "Du har selv godkendt eller rettet et tidligere trin i denne sag og må derfor hverken "
        "godkende eller rette dette trin (fire-øjne-princip). En kollega skal gøre det.",
        "You approved or amended an earlier step of this case yourself, so you may neither "
        "approve nor amend this one (four-eyes rule). A colleague must do it.",
    ),
    "stale": (
        "Opgaven er ændret siden du åbnede den. Se den igen.",
        "The task changed since you opened it. Please look again.",
    ),
    "decision_saved": ("Behandlingen er gemt: {decision}.", "Saved: {decision}."),
    "approved": ("godkendt", "approved"),
    "manual": ("overgået til manuel behandling (frist overskredet)",
               "handed over to manual handling (deadline passed)"),
    "amended": ("rettet", "amended"),
    "rejected": ("afvist", "rejected"),
    "history_title": ("Mine godkendelser", "My sign-offs"),
    "decision": ("Udfald", "Outcome"),
    "decided_at": ("Behandlet", "Done"),
    "oversight_title": ("Teamoverblik: menneskeligt tilsyn", "Team overview: human oversight"),
    "oversight_intro": (
        "Høj enighed og mange hurtige godkendelser kan være tegn på automatiseringsbias "
        "(EU's AI-forordning art. 14).",
        "High agreement and many fast approvals can signal automation bias "
        "(EU AI Act Art. 14).",
    ),
    "decisions": ("Behandlede opgaver", "Tasks done"),
    "agreement_rate": ("Enighed (godkendt uændret)", "Agreement (kept as suggested)"),
    "fast_approvals": ("Hurtige godkendelser (< {seconds} s)", "Fast approvals (< {seconds} s)"),
    "avg_review": ("Gennemsnitligt gennemsyn (s)", "Average review (s)"),
    "not_found": ("Siden findes ikke.", "Page not found."),
    "forbidden": ("Du har ikke adgang.", "You do not have access."),
    "bad_request": ("Ugyldig forespørgsel.", "Bad request."),
    "csrf_failed": (
        "Formularen er udløbet. Genindlæs siden og prøv igen.",
        "The form has expired. Reload the page and try again.",
    ),
    "back_to_queue": ("Tilbage til køen", "Back to queue"),
    "language": ("Sprog", "Language"),
    "save": ("Gem", "Save"),
    "none": ("Ingen", "None"),
    "nav_flows": ("Robotter", "Robots"),
    "shadow_hidden": (
        "Skyggedrift: løs opgaven selv. Robottens svar er skjult, indtil du har svaret, og "
        "bruges kun til at måle, hvor tit robotten og du er enige.",
        "Shadow mode: do this step yourself. The robot's answer is hidden until you have "
        "answered and is only used to measure how often you and the robot agree."),
    "shadow_answer": ("Dit svar", "Your answer"),
    "shadow_submit": ("Gem mit svar", "Save my answer"),
    "shadow_search_first": ("Søg i KLE ovenfor for at vælge et emne.",
                            "Search KLE above to choose a subject."),
    "shadow_agreed": ("Robotten nåede samme svar.", "The robot reached the same answer."),
    "shadow_differed": ("Robotten foreslog noget andet.", "The robot suggested something else."),
    "answer": ("dit svar er gemt", "your answer is saved"),
    "optional": ("valgfri", "optional"),
    "earned_title": ("Optjent selvstændighed", "Earned autonomy"),
    "earned_intro": (
        "Trin, der kun kører selv, når sagsbehandlerne har beholdt nok af robottens forslag "
        "uændret. Falder enigheden, går trinnet automatisk tilbage til godkendelse.",
        "Steps that run on their own only once caseworkers kept enough of the robot's "
        "suggestions unchanged. If agreement falls, the step goes back to sign-off by itself."),
    "earned_mode": ("Tilstand nu", "Current mode"),
    "earned_yes": ("Kører selv (optjent)", "Runs on its own (earned)"),
    "earned_no": ("Godkendelse, indtil det er optjent", "Sign-off until earned"),
    "earned_sample": ("Beholdt / behandlede", "Kept / done"),
    "earned_threshold": ("Krav / vindue", "Required / window"),
    "threshold_title": ("Træfsikkerhed ved sikkerhedsgrænsen",
                        "Accuracy at the confidence threshold"),
    "threshold_intro": (
        "Under grænsen spørger robotten en sagsbehandler. Robottens sikkerhed er en målt "
        "sandsynlighed: ved 80 % skal mindst 8 af 10 forslag holde. Her ses, hvor mange af de "
        "seneste forslag, som en person vurderede (følsomme sager og stikprøver), der blev "
        "beholdt uændret, over og under grænsen.",
        "Below the threshold the robot asks a caseworker. The robot's confidence is a measured "
        "probability: at 80 % at least 8 of 10 suggestions should hold. This shows how many of "
        "the latest suggestions a person judged (sensitive cases and audit samples) were kept "
        "unchanged, at or above the threshold and below it."),
    "threshold_limit": ("Grænse", "Threshold"),
    "threshold_above": ("Beholdt ved grænsen eller over", "Kept at or above the threshold"),
    "threshold_below": ("Beholdt under grænsen", "Kept below the threshold"),
    "threshold_window": ("Seneste vurderinger talt med", "Latest judgements counted"),
    "threshold_kept": ("{kept} af {judged}", "{kept} of {judged}"),
    "threshold_none": ("ingen vurderet endnu", "none judged yet"),
    "flows_title": ("Robotter og stopknap", "Robots and stop switch"),
    "flows_intro": (
        "Når en robot er stoppet, skal hvert trin, den udfører, godkendes af en sagsbehandler, "
        "uanset politikken. Det gælder fra næste trin, også i kørsler, der er i gang. "
        "Hver ændring logges.",
        "While a robot is stopped, every step it performs needs a caseworker's sign-off, "
        "whatever its policy says. This applies from the next step on, also in runs already "
        "under way. Every change is logged."),
    "flow_state": ("Tilstand", "State"),
    "flow_changed": ("Sidst ændret", "Last changed"),
    "flow_action": ("Handling", "Action"),
    "flow_stopped": ("Stoppet", "Stopped"),
    "flow_running": ("Kører efter politikken", "Running under its policy"),
    "flow_stop": ("Stop robotten", "Stop the robot"),
    "flow_restart": ("Start igen", "Restart"),
    "overdue_reminded": ("Fristen er overskredet; påmindelse sendt",
                         "Deadline passed; reminder sent"),
    "overdue_reassigned": ("Fristen er overskredet; givet tilbage til teamet",
                           "Deadline passed; handed back to the team"),
    "explanation_link": ("Forklaring til borgeren", "Explanation for the citizen"),
    "explanation_title": ("Forklaring til borgeren", "Explanation for the citizen"),
    "explanation_intro": (
        "Teksten forklarer borgeren, hvilke automatiske trin der har behandlet sagen, hvilke "
        "oplysninger de brugte, hvem der besluttede og på hvilket retsgrundlag. Læs den "
        "igennem, før den sendes.",
        "This text tells the citizen which automated steps handled the case, which information "
        "they used, who decided and on what legal basis. Read it through before sending it."),
    "explanation_language": ("Sprog i forklaringen", "Language of the explanation"),
    "lang_da": ("Dansk", "Danish"),
    "lang_nb": ("Norsk (bokmål)", "Norwegian (Bokmål)"),
    "lang_en": ("Engelsk", "English"),
    "back_to_task": ("Tilbage til opgaven", "Back to the task"),
    "review_request_title": ("Borgeren beder om menneskelig prøvelse",
                             "The citizen asks for human review"),
    "review_request_intro": (
        "Registrér borgerens anmodning. Den bliver en opgave for en medarbejder, som ikke har "
        "været med i sagen (databeskyttelsesforordningen art. 22, stk. 3).",
        "Register the citizen's request. It becomes a task for a person who did not take part "
        "in the case (GDPR Art. 22(3))."),
    "review_step": ("Trin, der skal prøves", "Step to review"),
    "review_whole_case": ("Sagens automatiske behandling (seneste udfald)",
                          "The case's automated handling (latest outcome)"),
    "review_requested_via": ("Modtaget via", "Received via"),
    "via_letter": ("Brev", "Letter"),
    "via_email": ("E-mail", "Email"),
    "via_digital_post": ("Digital Post", "Digital Post"),
    "via_phone": ("Telefon", "Phone"),
    "via_in_person": ("Personligt fremmøde", "In person"),
    "via_self_service": ("Selvbetjening", "Self-service"),
    "review_reason": ("Borgerens begrundelse", "The citizen's reason"),
    "review_submit": ("Registrér anmodningen", "Register the request"),
    "review_assigned": ("Anmodningen er registreret og givet til {name}.",
                        "The request is registered and assigned to {name}."),
    "review_unassigned": (
        "Anmodningen er registreret. Ingen i afdelingen, som ikke har været med i sagen, kan "
        "tage den, så den ligger i teamets kø.",
        "The request is registered. Nobody in the department who did not take part in the "
        "case can take it, so it waits in the team's queue."),
    "review_request_invalid": (
        "Anmodningen kunne ikke registreres: vælg hvordan den er modtaget, og skriv borgerens "
        "begrundelse.",
        "The request could not be registered: choose how it was received and give the "
        "citizen's reason."),
    "review_task_title": ("Menneskelig prøvelse efter borgerens anmodning",
                          "Human review at the citizen's request"),
    "review_task_intro": (
        "Borgeren har bedt om, at en person gennemgår et automatisk trin. Du har ikke været med "
        "i sagen. Godkend for at lade resultatet stå, ret det, eller afvis det.",
        "The citizen asked for a person to review an automated step. You did not take part in "
        "the case. Approve to keep the result, amend it, or reject it."),
    "review_history": ("Sagens historik", "The case's history"),
    "hearing_title": ("Partshøring", "Party hearing"),
    "hearing_sent": ("Høringsbrevet blev sendt {sent}. Svarfrist: {deadline}.",
                     "The hearing letter was sent {sent}. Reply deadline: {deadline}."),
    "hearing_reply_received": ("Svar registreret {at} af {name}.",
                               "Reply registered {at} by {name}."),
    "hearing_note": ("Notat om svaret (valgfrit)", "Note on the reply (optional)"),
    "hearing_register_reply": ("Registrér partens svar", "Register the party's reply"),
    "hearing_reply_saved": ("Partens svar er registreret; sagen kan nu behandles videre.",
                            "The party's reply is registered; the case may now go on."),
    "hearing_reply_refused": ("Svaret kunne ikke registreres: {why}",
                              "The reply could not be registered: {why}"),
    "review_participant_refused": (
        "Du har været med i sagen og må derfor ikke prøve den (databeskyttelsesforordningen "
        "art. 22, stk. 3).",
        "You took part in this case, so you may not review it (GDPR Art. 22(3))."),
}


def pick_language(user_language: str | None, accept_language: str | None) -> str:
    """The user's setting, else the first supported Accept-Language, else Danish."""
    if user_language in LANGUAGES:
        return user_language  # type: ignore[return-value]
    ranked: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()[:2]
        q = 1.0
        for param in pieces[1:]:
            if param.strip().startswith("q="):
                try:
                    q = float(param.strip()[2:])
                except ValueError:
                    q = 0.0
        if tag in ("no", "nn"):  # Norwegian readers get bokmål
            tag = "nb"
        if tag in LANGUAGES and q > 0:
            ranked.append((-q + i * 1e-6, tag))
    return min(ranked)[1] if ranked else DEFAULT


def has(key: str) -> bool:
    return key in TASK_TEXTS or key in TEXTS


def text_of(key: str, language: str) -> str | None:
    """The text of ``key`` in ``language`` (Danish for an unknown language), or None."""
    language = language if language in LANGUAGES else DEFAULT
    if key in TASK_TEXTS:
        return TASK_TEXTS[key][LANGUAGES.index(language)]
    pair = TEXTS.get(key)
    if pair is None:
        return None
    if language == "nb":
        return NB.get(key, pair[0])
    return pair[1] if language == "en" else pair[0]


def translate(key: str, language: str, **values: object) -> str:
    text = text_of(key, language)
    if text is None:
        return key
    return text.format(**values) if values else text
