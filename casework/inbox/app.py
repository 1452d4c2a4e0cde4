"""The inbox web app: routes only; the work is done in the modules they call."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import Engine, update
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.db.models import InboxUser, SignoffTask
from casework.db.session import get_engine, reading, transaction
from casework.inbox import (
    decisions,
    evidence,
    flow_admin,
    forms,
    kle,
    oversight,
    queue,
    reports,
    review_time,
    sessions,
    values,
)
from casework.inbox.auth import Authenticator, authenticator_for
from casework.inbox.explanations import explanation_for
from casework.inbox.i18n import LANGUAGES, translate
from casework.inbox.identity import (
    User,
    department_members,
    display_names,
    get_visible_task,
    load_user,
)
from casework.inbox.present import Present
from casework.inbox.security import SecurityHeaders, local_path, local_referer
from casework.inbox.settings import InboxSettings
from casework.inbox.web import CsrfFailed, LoginRequired, PageError, Web
from casework.oversight import stop_switch
from casework.report.request import ReportError
from casework.rights.explain import LANGUAGES as EXPLAIN_LANGUAGES
from casework.rights.hearing import HearingError, hearing_for_task, register_reply
from casework.rights.review import REQUESTED_VIA, ReviewError, request_review
from casework.settings import get_settings

log = logging.getLogger(__name__)

MAX_INT = 2**31 - 1  # the largest id or version the database columns hold
MAX_PAGE = 100_000

async def posted_form(request: Request) -> dict[str, str]:
    """Every posted text field (the typed amend form's ``f.<name>`` fields among them)."""
    form = await request.form(max_fields=200)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def create_app(settings: InboxSettings | None = None, *, engine: Engine | None = None,
               authenticator: Authenticator | None = None) -> FastAPI:
    settings = settings or InboxSettings()
    web = Web(settings, engine or get_engine())
    app = FastAPI(title="Casework sign-off inbox", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.web = web
    app.add_middleware(SecurityHeaders)
    if settings.kle_warm_up:
        kle.warm_up()  # the picker's suggestion engine loads while nobody waits for it

    if authenticator is None:
        authenticator = authenticator_for(settings)  # InboxConfigError when misconfigured

    def start_session(request: Request, user_id: str, *, next_path: str | None = None,
                      id_token: str | None = None) -> Response:
        """Log in ``user_id`` (a new server-side session) and go on to where they were going."""
        with reading(web.engine) as s:
            user = load_user(s, user_id)
        if user is None:
            return web.error(request, 403, "forbidden")
        web.start_session(request, user, id_token)
        return RedirectResponse(local_path(next_path), status_code=303)

    app.include_router(authenticator.router(start_session))
    from casework.inbox.api import mount_api

    mount_api(app, web.engine, settings)  # /api: service tokens only, never the cookie

    # -- errors ------------------------------------------------------------------------
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        # A deep link opened while logged out is where the login ends (local paths only).
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method == "GET" and local_path(here, "") not in ("", "/", "/queue"):
            return RedirectResponse(f"/login?{urlencode({'next': here})}", status_code=303)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _exc: RequestValidationError) -> Response:
        # Missing, out-of-range or wrongly typed parameters: a page, never the input echoed.
        return web.error(request, 400, "bad_request")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        return web.error(request, 403, "csrf_failed")

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return web.error(request, exc.status, exc.key)

    @app.exception_handler(decisions.NotFound)
    async def _not_found(request: Request, _exc: decisions.NotFound) -> Response:
        return web.error(request, 404, "not_found")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        key = {404: "not_found", 403: "forbidden"}.get(exc.status_code, "bad_request")
        return web.error(request, exc.status_code, key)

    # -- pages -------------------------------------------------------------------------
    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("", max_length=200)) -> Response:
        web.require_csrf(request, csrf)
        id_token = web.end_session(request)
        return authenticator.logout_response(request, id_token)

    @app.post("/logout/everywhere")
    def logout_everywhere(request: Request, csrf: str = Form("", max_length=200)) -> Response:
        """End every session of this user (a lost laptop, a shared PC): this one included."""
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        id_token = web.end_session(request)
        with transaction(web.engine) as s:
            count = sessions.revoke_user(s, user.id, "logout_everywhere")
        log.info("user %s logged out everywhere (%d other sessions)", user.id, count)
        return authenticator.logout_response(request, id_token)

    @app.post("/language")
    def set_language(request: Request, language: str = Form(...), csrf: str = Form("")
                     ) -> Response:
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        if language not in LANGUAGES:
            raise PageError(400, "bad_request")
        with transaction(web.engine) as s:
            s.execute(update(InboxUser).where(InboxUser.id == user.id)
                      .values(language=language))
        # Back to the page the form was on: a path on this site, never another host.
        return RedirectResponse(local_referer(request.headers.get("referer"),
                                              request.headers.get("host")), status_code=303)

    @app.get("/queue")
    def queue_page(request: Request, department: str | None = None, flow: str | None = None,
                   due: str = "all", sort: str = "deadline",
                   page: int = Query(1, ge=1, le=MAX_PAGE)) -> Response:
        user = web.require_user(request)
        flt = queue.QueueFilter(
            department=department or None, flow=flow or None,
            due=due if due in ("all", "overdue", "today", "week") else "all",  # type: ignore[arg-type]
            sort="created" if sort == "created" else "deadline", page=page)
        with reading(web.engine) as s:
            result = queue.load_queue(s, user, flt, page_size=settings.page_size,
                                      counts_ttl=settings.queue_counts_seconds)
            names = display_names(s, {t.claimed_by for t in result.tasks if t.claimed_by})
        return web.render(request, "queue.html", result=result, flt=flt, names=names)

    def _task_page(request: Request, user: User, task_id: str, *, message: str | None = None,
                   message_values: dict[str, Any] | None = None, status_code: int = 200,
                   kle_q: str = "", open_view: bool = True,
                   kept: dict[str, Any] | None = None) -> Response:
        """The task page. ``kept``: what she posted (decision, reason, typed fields, field
        errors), shown again after a refusal so nothing she typed is lost."""
        now = datetime.now(UTC)
        view_id = None
        if open_view:
            with transaction(web.engine) as s:
                task = get_visible_task(s, user, task_id)
                if task is None:
                    raise decisions.NotFound(task_id)
                if task.status == "awaiting":
                    view_id = review_time.open_view(s, task.id, user.id, now).id
        with reading(web.engine) as s:
            task = get_visible_task(s, user, task_id)
            if task is None:
                raise decisions.NotFound(task_id)
            names = display_names(s, {task.claimed_by or "", task.decided_by or ""})
            members = department_members(s, task.department) if user.is_lead else []
            hearing = hearing_for_task(s, task.id)
            if hearing is not None:
                names |= display_names(s, {hearing.reply_registered_by or ""})
            earlier = evidence.earlier_decisions(s, user, task)
            names |= display_names(s, {e.decided_by or "" for e in earlier})
            served = [(i, a.filename, a.inline)
                      for i, a in enumerate(evidence.attachments(s, task), start=1)]
        payload = task.payload or {}
        suggestion = payload.get("suggestion")
        is_kle = isinstance(suggestion, dict) and "kle" in suggestion
        # Search hits leave out what the page already offers (the suggestion, its alternatives).
        listed = {a.get("code") for a in payload.get("alternatives") or [] if isinstance(a, dict)}
        listed.add(suggestion.get("kle") if is_kle else None)
        if task.kind == "shadow":
            listed = set()  # nothing is offered: the person searches for their own answer
        kle_hits = [hit for hit in (kle.search(kle_q) if is_kle and kle_q else [])
                    if hit.code not in listed]
        values = dict(message_values or {})
        for who in ("decided_by", "claimed_by"):
            if who in values:
                values["name"] = names.get(values[who]) or values[who]
        if "decision" in values:
            values["decision"] = web_t(request, values["decision"])
        fmt = Present(web.language(request))
        kept = kept or {}
        if "field" in values and not (kept.get("value_json") or "").strip() \
                and fmt.has(f"fact_{values['field']}"):
            values["field"] = fmt.fact_label(str(values["field"]))  # her label, not a JSON key
        field_errors = {name: translate(key, fmt.lang, **vals)
                        for name, (key, vals) in (kept.get("errors") or {}).items()}
        schema = payload.get("result_schema")
        fields = forms.build(schema, suggestion if task.kind != "shadow" else
                             {k: None for k in (suggestion or {})}
                             if isinstance(suggestion, dict) else None,
                             fmt, typed=kept.get("typed"), errors=field_errors)
        found = evidence.evidence_of(payload)
        return web.render(
            request, "task.html", status_code=status_code, task=task, payload=payload,
            suggestion=suggestion,
            suggestion_json=kept.get("value_json") or json.dumps(
                suggestion if isinstance(suggestion, dict) else {"value": suggestion},
                ensure_ascii=False, indent=2),
            is_kle=is_kle, kle_q=kle_q, kle_hits=kle_hits, names=names, members=members,
            view_id=view_id, message=message, message_values=values, hearing=hearing,
            fmt=fmt, evidence=found, earlier=earlier, attachments=served,
            case_url=evidence.case_link(settings.case_url_template,
                                        found.case_number if found else None),
            fields=fields, kept=kept, advanced="automation_admin" in user.roles,
            prefect_run=_prefect_run_link(settings.prefect_ui_url, task.flow_run_id)
            if "automation_admin" in user.roles else None,
            describe=lambda value: forms.describe(value, fmt, schema),
            input_window=settings.active_input_seconds,
            next_id=kept.get("next_id"),
        )

    def web_t(request: Request, key: str) -> str:
        return translate(key, web.language(request))

    @app.get("/tasks/{task_id}")
    def task_page(request: Request, task_id: str, kle_q: str = "", done: str | None = None
                  ) -> Response:
        user = web.require_user(request)
        message, shown = None, {}
        if done in decisions.OUTCOMES or done == decisions.ANSWER:
            with reading(web.engine) as s:
                task = get_visible_task(s, user, task_id)
                # "Saved" only for a decision this user in fact made (defect 8).
                if task is not None and task.status == "decided" and task.decided_by == user.id \
                        and (task.decision == done or (done == decisions.ANSWER
                                                       and task.kind == "shadow")):
                    message, shown = "decision_saved", {"decision": done}
        elif done in ("claimed", "released"):
            with reading(web.engine) as s:
                task = get_visible_task(s, user, task_id)
                # Confirmed only when it is so now (a link cannot claim anything).
                if task is not None and task.status == "awaiting" and (
                        (done == "claimed") == (task.claimed_by == user.id)):
                    message = f"{done}_saved"
        return _task_page(request, user, task_id, kle_q=kle_q[:100], message=message,
                          message_values=shown)

    @app.post("/tasks/{task_id}/decide")
    def decide(request: Request, task_id: str,
               posted: Annotated[dict[str, str], Depends(posted_form)], csrf: str = Form(""),
               decision: str = Form(...), version: int = Form(..., ge=0, le=MAX_INT),
               reason: str = Form(""),
               value_json: str = Form(""), kle_code: str = Form(""), then: str = Form(""),
               ) -> Response:
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        view = posted.get("view_id", "")
        if view.isdigit() and 0 < int(view) <= MAX_INT and "spans" in posted:
            # The page's last active seconds, up to this click.
            with transaction(web.engine) as s:
                if get_visible_task(s, user, task_id) is not None:
                    review_time.heartbeat(s, int(view), task_id, user.id, datetime.now(UTC),
                                          settings.idle_cap_seconds,
                                          review_time.parse_spans(posted["spans"][:8000]))
        value: Any = None
        typed = {k: v for k, v in posted.items() if k.startswith(forms.PREFIX)}
        kept: dict[str, Any] = {"decision": decision, "reason": reason, "typed": typed,
                                "kle_code": kle_code, "value_json": value_json}
        try:
            if decision in ("amended", decisions.ANSWER):
                value = _amended_value(web, user, task_id, value_json, kle_code, typed)
            decisions.decide(web.engine, user, task_id, decision=decision, version=version,
                             reason=reason, value=value,
                             idle_cap_seconds=settings.idle_cap_seconds)
        except FieldErrors as exc:
            kept["errors"] = exc.errors
            return _task_page(request, user, task_id, message="fields_invalid",
                              status_code=400, open_view=False, kept=kept)
        except decisions.Refused as exc:
            status = 409 if exc.key in ("already_decided", "claimed_by_other", "stale") else 400
            if exc.key in ("four_eyes_refused", "review_participant_refused"):
                status = 403
            field = exc.values.get("field") if exc.key == "value_field_invalid" else None
            if exc.key == "unknown_kle":
                field = "kle"
            if isinstance(field, str) and not value_json.strip():
                kept["errors"] = {field.split(".", 1)[0]: ("field_invalid", {})}
            return _task_page(request, user, task_id, message=exc.key,
                              message_values=exc.values, status_code=status, open_view=False,
                              kept=kept)
        if then == "next":
            with reading(web.engine) as s:
                following = queue.next_task(s, user, after=task_id)
            if following is not None:
                return RedirectResponse(f"/tasks/{following}?decided={task_id}",
                                        status_code=303)
            return RedirectResponse(f"/queue?decided={task_id}", status_code=303)
        return RedirectResponse(f"/tasks/{task_id}?done={decision}", status_code=303)

    @app.get("/tasks/{task_id}/attachments/{number}")
    def attachment(request: Request, task_id: str,
                   number: int = Path(..., ge=1, le=1000)) -> Response:
        """An attachment of the letter behind the task, to someone who may see the task: a
        PDF shown in the browser (nothing in it may run), anything else downloaded."""
        user = web.require_user(request)
        with reading(web.engine) as s:
            task = get_visible_task(s, user, task_id)
            if task is None:
                raise decisions.NotFound(task_id)
            found = evidence.attachments(s, task)
        if number > len(found):
            raise decisions.NotFound(task_id)
        item = found[number - 1]
        return Response(item.data, media_type=item.content_type if item.inline
                        else "application/octet-stream", headers={
                            "Content-Disposition": evidence.disposition(item),
                            "Content-Security-Policy": evidence.ATTACHMENT_CSP,
                            "Cache-Control": "no-store"})

    @app.post("/tasks/{task_id}/claim")
    def claim(request: Request, task_id: str, csrf: str = Form("")) -> Response:
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        try:
            decisions.claim(web.engine, user, task_id)
        except decisions.Refused as exc:
            return _task_page(request, user, task_id, message=exc.key,
                              message_values=exc.values, status_code=409, open_view=False)
        return RedirectResponse(f"/tasks/{task_id}?done=claimed", status_code=303)

    @app.post("/tasks/{task_id}/release")
    def release(request: Request, task_id: str, csrf: str = Form(""),
                reassign_to: str = Form("")) -> Response:
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        target = None
        if reassign_to:
            with reading(web.engine) as s:
                target = load_user(s, reassign_to)
            if target is None:
                raise PageError(400, "bad_request")
        try:
            decisions.release(web.engine, user, task_id, reassign_to=target)
        except decisions.Refused as exc:
            status = 403 if exc.key == "forbidden" else 409
            return _task_page(request, user, task_id, message=exc.key,
                              message_values=exc.values, status_code=status, open_view=False)
        return RedirectResponse(f"/tasks/{task_id}?done=released", status_code=303)

    @app.post("/tasks/{task_id}/heartbeat")
    def heartbeat(request: Request, task_id: str, csrf: str = Form(""),
                  view_id: int = Form(..., ge=1, le=MAX_INT),
                  spans: str = Form("", max_length=8000)) -> Response:
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        with transaction(web.engine) as s:
            if get_visible_task(s, user, task_id) is None:
                raise decisions.NotFound(task_id)
            ok = review_time.heartbeat(s, view_id, task_id, user.id, datetime.now(UTC),
                                       settings.idle_cap_seconds,
                                       review_time.parse_spans(spans))
        return Response(status_code=204 if ok else 404)

    @app.post("/tasks/{task_id}/hearing-reply")
    def hearing_reply(request: Request, task_id: str, csrf: str = Form(""),
                      note: str = Form("")) -> Response:
        """Register the party's reply to the hearing letter this task signed off."""
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        with reading(web.engine) as s:
            task = get_visible_task(s, user, task_id)
            hearing = hearing_for_task(s, task_id) if task is not None else None
            if task is None or hearing is None:
                raise decisions.NotFound(task_id)
            case_ref, hearing_id = task.case_ref, hearing.id
        if len(note) > values.MAX_TEXT:
            return _task_page(request, user, task_id, message="text_too_long",
                              message_values={"max": values.MAX_TEXT}, status_code=400,
                              open_view=False)
        try:
            register_reply(case_ref, by=user.id, note=note, hearing_id=hearing_id,
                           engine=web.engine)
        except HearingError as exc:
            return _task_page(request, user, task_id, message="hearing_reply_refused",
                              message_values={"why": str(exc)}, status_code=409,
                              open_view=False)
        return _task_page(request, user, task_id, message="hearing_reply_saved",
                          open_view=False)

    @app.get("/tasks/{task_id}/explanation")
    def explanation_page(request: Request, task_id: str, lang: str = "") -> Response:
        user = web.require_user(request)
        return _explanation_page(request, user, task_id, lang)

    @app.post("/tasks/{task_id}/review-request")
    def review_request(request: Request, task_id: str, csrf: str = Form(""),
                       reason: str = Form(""), requested_via: str = Form(""),
                       step: str = Form(""), lang: str = Form("")) -> Response:
        """A caseworker or team lead registers a citizen's request for human review."""
        user = web.require_user(request)
        web.require_csrf(request, csrf)
        with reading(web.engine) as s:
            task = get_visible_task(s, user, task_id)
            if task is None:
                raise decisions.NotFound(task_id)
            case_ref = task.case_ref
        if len(reason) > values.MAX_TEXT:
            return _explanation_page(request, user, task_id, lang, status_code=400,
                                     message="text_too_long",
                                     message_values={"max": values.MAX_TEXT})
        if requested_via not in REQUESTED_VIA or not reason.strip():
            return _explanation_page(request, user, task_id, lang, status_code=400,
                                     message="review_request_invalid")
        # Only a step this user may see; the whole case only with the full explanation.
        visible = explanation_for(web.engine, user, case_ref, "da")
        allowed = {st.step for st in visible.steps if st.automated}
        if (step and step not in allowed) or (not step and not user.sees_full_explanation):
            return _explanation_page(request, user, task_id, lang, status_code=403,
                                     message="review_request_invalid")
        try:
            review = request_review(case_ref, step=step or None, requested_via=requested_via,
                                    reason=reason, registered_by=user.id,
                                    engine=web.engine)
        except ReviewError:
            return _explanation_page(request, user, task_id, lang, status_code=400,
                                     message="review_request_invalid")
        with reading(web.engine) as s:
            name = display_names(s, {review.claimed_by or ""}).get(review.claimed_by or "")
        if name:
            return _explanation_page(request, user, task_id, lang, message="review_assigned",
                                     message_values={"name": name})
        return _explanation_page(request, user, task_id, lang, message="review_unassigned")

    def _explanation_page(request: Request, user: User, task_id: str, lang: str, *,
                          status_code: int = 200, message: str | None = None,
                          message_values: dict[str, Any] | None = None) -> Response:
        with reading(web.engine) as s:
            task = get_visible_task(s, user, task_id)
            if task is None:
                raise decisions.NotFound(task_id)
        language = lang if lang in EXPLAIN_LANGUAGES else web.language(request)
        explanation = explanation_for(web.engine, user, task.case_ref,
                                      language)  # type: ignore[arg-type]
        steps = sorted({st.step for st in explanation.steps if st.automated})
        # Her language for the names of steps and fields; the case number as the case system
        # shows it (she may see this case: the task is hers to see); the pseudonym otherwise.
        words = Present(language)
        found = evidence.evidence_of(task.payload)
        def title(flow: str, step: str) -> str:
            name = words.step(flow, step)
            return "" if name == words.t("step_unnamed") else name

        letter = explanation.render(
            "html", titles=title, describe=lambda value: forms.describe(
                value, words, (task.payload or {}).get("result_schema")),
            case_number=found.case_number if found else None)
        return web.render(request, "explanation.html", status_code=status_code, task=task,
                          explanation_html=letter,
                          explanation_lang=language, languages=EXPLAIN_LANGUAGES,
                          steps=steps, whole_case=user.sees_full_explanation,
                          channels=REQUESTED_VIA, message=message,
                          message_values=message_values or {})

    @app.get("/history")
    def history(request: Request, page: int = Query(1, ge=1, le=MAX_PAGE)) -> Response:
        user = web.require_user(request)
        with reading(web.engine) as s:
            tasks, more = queue.load_history(s, user, page=page, page_size=settings.page_size)
        return web.render(request, "history.html", tasks=tasks, page=max(1, page), more=more)

    @app.get("/oversight")
    def oversight_page(request: Request) -> Response:
        user = web.require_user(request)
        if not user.is_lead:
            raise PageError(403, "forbidden")
        with reading(web.engine) as s:
            rows = oversight.step_oversight(s, user, settings.fast_approval_seconds)
            earned = oversight.earned_autonomy(s)
            thresholds = oversight.threshold_accuracy(s)
        return web.render(request, "oversight.html", rows=rows, earned=earned,
                          thresholds=thresholds, fast_seconds=settings.fast_approval_seconds)

    @app.get("/reports")
    def reports_page(request: Request) -> Response:
        user = web.require_user(request)
        if not reports.may_download(user):
            raise PageError(403, "forbidden")
        return web.render(request, "reports.html", departments=sorted(user.departments),
                          form={}, message=None)

    @app.get("/reports/download")
    def reports_download(request: Request) -> Response:
        user = web.require_user(request)
        if not reports.may_download(user):
            raise PageError(403, "forbidden")
        params = dict(request.query_params)
        try:
            report = reports.report_request(user, params)
            body = reports.build_to_stream(web.engine, report)
        except ReportError as exc:
            key = exc.key if isinstance(exc, reports.ReportRefused) else "report_error"
            return web.render(request, "reports.html", status_code=400,
                              message=web_t(request, key),
                              departments=sorted(user.departments), form=params)
        return StreamingResponse(body, media_type=reports.XLSX, headers={
            "Content-Disposition": f'attachment; filename="{reports.filename(report)}"',
            "Cache-Control": "no-store"})

    @app.get("/admin/flows")
    def flows_page(request: Request) -> Response:
        user = web.require_user(request)
        if not flow_admin.may_switch(user):
            raise PageError(403, "forbidden")
        return _flows_page(request)

    @app.post("/admin/flows/{flow}")
    def switch_flow(request: Request, flow: str, csrf: str = Form(""),
                    stopped: str = Form(...), reason: str = Form("")) -> Response:
        user = web.require_user(request)
        if not flow_admin.may_switch(user):
            raise PageError(403, "forbidden")
        web.require_csrf(request, csrf)
        if stopped not in ("true", "false") or len(flow) > 100:
            raise PageError(400, "bad_request")
        if stopped == "true" and not reason.strip():
            return _flows_page(request, message="reason_required", status_code=400)
        if len(reason) > 500:
            return _flows_page(request, message="text_too_long", status_code=400,
                               message_values={"max": 500})
        stop_switch.set_stopped(flow, stopped=stopped == "true", actor=user.id,
                                reason=reason, engine=web.engine)
        return RedirectResponse("/admin/flows", status_code=303)

    def _flows_page(request: Request, message: str | None = None, status_code: int = 200,
                    message_values: dict[str, Any] | None = None) -> Response:
        with reading(web.engine) as s:
            rows = flow_admin.known_flows(s, get_settings().policy_dir)
            names = display_names(s, {r.changed_by for r in rows if r.changed_by})
        return web.render(request, "flows.html", rows=rows, names=names, message=message,
                          message_values=message_values or {}, status_code=status_code)

    @app.get("/kle/search")
    def kle_search(request: Request, q: str = Query("", max_length=100),
                   format: str = "json") -> Response:
        web.require_user(request)
        hits = kle.search(q)
        if format == "html":
            return web.render(request, "kle_results.html", hits=hits, q=q)
        lang = web.language(request)
        return JSONResponse([{"code": h.code, "title": h.title, "how": h.how,
                              "why": translate(h.why_key, lang, keyword=h.keyword or "")}
                             for h in hits], headers={"Cache-Control": "no-store"})

    return app


class FieldErrors(Exception):
    """Fields of the typed amend form that are wrong: field → (message key, values)."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__("fields invalid")
        self.errors = errors


def _amended_value(web: Web, user: User, task_id: str, value_json: str, kle_code: str,
                   typed: dict[str, str] | None = None) -> Any:
    """The caseworker's corrected suggestion: the typed form's fields (another KLE subject
    among them), or (automation admins) edited JSON."""
    with reading(web.engine) as s:
        task: SignoffTask | None = get_visible_task(s, user, task_id)
        if task is None:
            raise decisions.NotFound(task_id)
        payload = task.payload or {}
        suggestion = payload.get("suggestion")
    if value_json.strip():
        try:
            return values.parse_value(value_json)  # strict JSON object; checked again in decide()
        except values.ValueRefused as exc:
            raise decisions.Refused(exc.key, **exc.values) from None
    if not isinstance(suggestion, dict):
        raise decisions.Refused("invalid_json")
    schema = payload.get("result_schema")
    parsed = forms.parse(schema, suggestion, typed or {})
    errors = dict(parsed.errors)
    value = dict(parsed.value)
    if "kle" in suggestion:
        code = kle_code.strip()
        title = kle.subjects().get(code or "")
        if title is None:
            errors["kle"] = ("unknown_kle" if code else "field_choose_kle", {})
        else:
            value.update(kle=code, title=title)
            if code != suggestion.get("kle"):
                value["amended_from"] = suggestion.get("kle")
    if errors:
        raise FieldErrors(errors)
    if not value:
        raise decisions.Refused("invalid_json")
    # A shadow answer is hers alone (compared with the robot's); an amendment is the robot's
    # result with her corrections.
    return value if task.kind == "shadow" else {**suggestion, **value}


def _prefect_run_link(base: str | None, flow_run_id: str | None) -> str | None:
    """Where an automation admin sees the flow run that prepared a task (a UUID, or none)."""
    import uuid as _uuid

    if not base or not flow_run_id:
        return None
    try:
        return f"{base}/runs/flow-run/{_uuid.UUID(flow_run_id)}"
    except ValueError:  # "no-flow-run": prepared outside Prefect
        return None
