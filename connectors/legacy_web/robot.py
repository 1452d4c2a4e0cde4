"""A robot that works the legacy web case system through its pages, as a caseworker would.

The system has no API: the robot logs in, searches, reads the case page and fills in the form
"Registrér sagsskridt" in a headless Chromium (sync Playwright). Transient faults (navigation
timeout, 5xx page, dropped connection, expired session) are retried with a fresh page load and,
if needed, a new login. Permanent faults (wrong password, 4xx page, case not found, the form
refused) raise at once with a clear message. A step is never registered twice: once a form has
been sent without a clear answer, the next attempt first looks for it on the case page.

    with LegacyCaseSystemRobot(url, "sagsrobot", password) as robot:
        case = robot.read_case("2024-001187")
        receipt = robot.register_step("2024-001187", CaseStepForm(...))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from casework.privacy import install_log_masking, pseudonymise
from connectors.browser import launch_browser
from connectors.legacy_web.errors import (
    CaseNotFoundError,
    LegacyLoginError,
    LegacyPermanentError,
    LegacyTransientError,
    LegacyWebError,
    SessionExpiredError,
    StepValidationError,
)
from connectors.legacy_web.evidence import save_failure_screenshot
from connectors.legacy_web.models import (
    CaseStep,
    CaseStepForm,
    CaseSummary,
    LegacyCase,
    StepReceipt,
)
from connectors.legacy_web.selectors import (
    CasePage,
    ErrorPage,
    LoginPage,
    Paths,
    ReceiptPage,
    SearchPage,
    StepFormPage,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response

log = logging.getLogger(__name__)
T = TypeVar("T")

_CASE_NUMBER = re.compile(r"^\d{4}-\d{6}$")
_CPR = re.compile(r"^\d{6}-?\d{4}$")
_NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")


class LegacyCaseSystemRobot:
    """One logged-in browser session on the legacy case system (a context manager).

    ``browser`` lets several robots share one running Chromium (each gets its own cookies);
    without it the robot starts and stops its own.
    """

    def __init__(self, base_url: str, username: str, password: str | SecretStr, *,
                 timeout_seconds: float = 15.0, attempts: int = 4,
                 retry_wait_seconds: float = 0.5, headless: bool = True,
                 browser: Browser | None = None) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        self.retry_wait_seconds = retry_wait_seconds
        self.headless = headless
        self._shared_browser = browser
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._logged_in = False

    # -- lifetime --------------------------------------------------------------------------

    def __enter__(self) -> LegacyCaseSystemRobot:
        install_log_masking()
        if self._shared_browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            try:
                self._browser = launch_browser(self._playwright, headless=self.headless)
            except BaseException:
                self._playwright.stop()
                raise
        else:
            self._browser = self._shared_browser
        self._context = self._browser.new_context(locale="da-DK",
                                                  viewport={"width": 1280, "height": 900})
        self._context.set_default_timeout(self.timeout_seconds * 1000)
        self._context.set_default_navigation_timeout(self.timeout_seconds * 1000)
        self._page = self._context.new_page()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._context is not None:
                self._context.close()
        finally:
            self._context = self._page = None
            self._logged_in = False
            if self._shared_browser is None and self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()
            self._browser = self._playwright = None

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("use the robot as a context manager: "
                               "`with LegacyCaseSystemRobot(...) as robot:`")
        return self._page

    # -- public operations -----------------------------------------------------------------

    def login(self) -> None:
        """Log in (again). Other operations log in by themselves when needed."""
        self._run("login", None, self._login_once)

    def search_case(self, query: str) -> list[CaseSummary]:
        """Cases matching a case number (``2024-001187``) or a CPR number."""
        query = query.strip()
        if not (_CASE_NUMBER.match(query) or _CPR.match(query)):
            raise ValueError("search_case: the query must be a case number (YYYY-NNNNNN) or a "
                             "CPR number (DDMMYY-NNNN)")
        ref = pseudonymise(query) if _CASE_NUMBER.match(query) else None

        def attempt() -> list[CaseSummary]:
            self._ensure_login()
            self._goto(Paths.SEARCH, "the search page")
            self.page.fill(SearchPage.QUERY, query)
            self._submit(SearchPage.SUBMIT, "the search")
            if self.page.locator(SearchPage.RESULTS_TABLE).count() == 0:
                raise LegacyPermanentError(f"the search was refused: {self._page_error()}")
            return self._table_rows(CaseSummary, SearchPage.COLUMNS, SearchPage.RESULT_ROWS,
                                    "search result")

        return self._run("search_case", ref, attempt)

    def read_case(self, case_number: str) -> LegacyCase:
        """The case page's fields and registered steps."""
        ref = pseudonymise(case_number)

        def attempt() -> LegacyCase:
            self._ensure_login()
            return self._read_case_page(case_number, ref)

        return self._run("read_case", ref, attempt)

    def register_step(self, case_number: str, form: CaseStepForm) -> StepReceipt:
        """Fill in and send "Registrér sagsskridt"; the receipt number proves it was stored.

        After a send without a clear answer, the next attempt looks for a new step matching
        ``form`` on the case page and returns its receipt instead of sending again.
        """
        ref = pseudonymise(case_number)
        known_receipts: set[str] | None = None
        sent = False

        def recovered(case: LegacyCase) -> StepReceipt | None:
            assert known_receipts is not None
            for step in case.steps:
                if step.receipt_number not in known_receipts and form.matches(step):
                    log.info("legacy web robot: the step on case %s was registered although "
                             "its answer was lost (%s)", ref, step.receipt_number)
                    return StepReceipt(case_number=case_number,
                                       receipt_number=step.receipt_number,
                                       step_type=form.step_type, step_date=form.step_date,
                                       recovered=True)
            return None

        def attempt() -> StepReceipt:
            nonlocal known_receipts, sent
            self._ensure_login()
            case = self._read_case_page(case_number, ref)
            if known_receipts is None:
                known_receipts = {step.receipt_number for step in case.steps}
            elif sent and (found := recovered(case)) is not None:
                return found
            self._goto(Paths.NEW_STEP.format(case_number=case_number),
                       f"the step form of case {ref}", not_found_ref=ref)
            self.page.select_option(StepFormPage.STEP_TYPE, label=form.step_type.value)
            self.page.fill(StepFormPage.DATE, form.step_date.strftime(StepFormPage.DATE_FORMAT))
            self.page.fill(StepFormPage.NOTE, form.note)
            sent = True
            try:
                self._submit(StepFormPage.SUBMIT, f"the step form of case {ref}",
                             not_found_ref=ref)
            except LegacyPermanentError:
                # E.g. the browser re-sent the form after a dropped connection and the system
                # refused the used form: the step may well be stored. Look before failing.
                if (found := recovered(self._read_case_page(case_number, ref))) is not None:
                    return found
                raise
            self._raise_form_errors(ref)
            receipt = self._text_or_none(ReceiptPage.RECEIPT_NUMBER)
            if not receipt:
                # Sent, but no receipt shown: the next attempt checks the case page.
                raise LegacyTransientError(f"no receipt number after sending the step form of "
                                           f"case {ref}: {self._page_error()}")
            if not re.match(ReceiptPage.NUMBER_PATTERN, receipt):
                raise LegacyPermanentError(
                    f"the receipt page of case {ref} shows a receipt number the robot does not "
                    f"recognise; the step may be registered, check the case")
            return StepReceipt(case_number=case_number, receipt_number=receipt,
                               step_type=form.step_type, step_date=form.step_date)

        return self._run("register_step", ref, attempt)

    # -- retry and evidence ----------------------------------------------------------------

    def _run(self, operation: str, case_ref: str | None, attempt: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.retry_wait_seconds, max=10),
            retry=retry_if_exception_type(LegacyTransientError),
            before_sleep=lambda state: self._log_retry(operation, case_ref, state),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except LegacyWebError as exc:
            exc.screenshot = save_failure_screenshot(self.page, operation=operation,
                                                     case_ref=case_ref, error=exc)
            raise
        except Exception as exc:
            from playwright.sync_api import Error as PlaywrightError

            if not isinstance(exc, PlaywrightError):
                raise
            # An element the robot needs is missing or unusable: the page is not as expected.
            error = LegacyPermanentError(
                f"{operation} on the legacy case system failed: the page did not behave as "
                f"expected ({_first_line(exc)}); see connectors/legacy_web/selectors.py")
            error.screenshot = save_failure_screenshot(self.page, operation=operation,
                                                       case_ref=case_ref, error=error)
            raise error from exc

    def _log_retry(self, operation: str, case_ref: str | None, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("legacy web robot: %s%s attempt %d failed (%s); retrying", operation,
                    f" (case {case_ref})" if case_ref else "", state.attempt_number, error)

    # -- pages -----------------------------------------------------------------------------

    def _ensure_login(self) -> None:
        if not self._logged_in:
            self._login_once()

    def _login_once(self) -> None:
        self._logged_in = False
        self._goto(Paths.LOGIN, "the login page", login_page=True)
        self.page.fill(LoginPage.USERNAME, self.username)
        self.page.fill(LoginPage.PASSWORD, self._password.get_secret_value())
        self._submit(LoginPage.SUBMIT, "the login", login_page=True)
        refusal = self._text_or_none(LoginPage.ERROR)
        if refusal is not None:
            raise LegacyLoginError(f"the legacy case system refused the login of user "
                                   f"{self.username!r}: {refusal}")
        if self._on_login_page():
            raise LegacyPermanentError("the legacy case system stayed on its login page after "
                                       "the login was sent")
        self._logged_in = True
        log.info("legacy web robot: logged in as %s", self.username)

    def _read_case_page(self, case_number: str, ref: str) -> LegacyCase:
        self._goto(Paths.CASE.format(case_number=case_number), f"the page of case {ref}",
                   not_found_ref=ref)
        shown = self._field_table(CasePage.TABLE)
        values: dict[str, Any] = {}
        for name, label in CasePage.FIELDS.items():
            if label not in shown:
                raise LegacyPermanentError(
                    f"the page of case {ref} has no field {label!r} (model field {name!r}); "
                    "the system's layout may have changed")
            values[name] = shown[label] or None
        for name in ("created", "changed", "deadline"):
            values[name] = _parse_date(values[name], f"case {ref}, field {name!r}")
        values["steps"] = self._table_rows(CaseStep, CasePage.STEP_COLUMNS, CasePage.STEP_ROWS,
                                           f"step list of case {ref}")
        try:
            return LegacyCase.model_validate(values)
        except ValidationError as exc:
            raise _malformed(f"the page of case {ref}", exc) from None

    def _field_table(self, table: str) -> dict[str, str]:
        """A two-column table (``<th>`` label, ``<td>`` value) read in one round trip."""
        pairs = self.page.locator(f"{table} tr").evaluate_all(
            "rows => rows.map(r => [r.querySelector('th')?.innerText ?? '',"
            " r.querySelector('td')?.innerText ?? ''])")
        return {" ".join(label.split()): " ".join(value.split()) for label, value in pairs}

    def _table_rows(self, model: type[T], columns: tuple[str, ...], rows: str,
                    what: str) -> list[T]:
        """Data rows as models, the cells of all rows read in one round trip."""
        table = self.page.locator(rows).evaluate_all(
            "rows => rows.map(r => Array.from(r.querySelectorAll('td'), c => c.innerText))")
        return [self._row_model(model, columns, cells, what) for cells in table]

    def _row_model(self, model: type[T], columns: tuple[str, ...], cells: list[str],
                   what: str) -> T:
        cells = [" ".join(c.split()) for c in cells]
        if len(cells) != len(columns):
            raise LegacyPermanentError(f"a row of the {what} has {len(cells)} columns, "
                                       f"expected {len(columns)}")
        values: dict[str, Any] = dict(zip(columns, cells, strict=True))
        if "step_date" in values:
            values["step_date"] = _parse_date(values["step_date"], f"{what}, column 'step_date'")
        try:
            return model.model_validate(values)  # type: ignore[attr-defined,no-any-return]
        except ValidationError as exc:
            raise _malformed(f"a row of the {what}", exc) from None

    def _raise_form_errors(self, ref: str) -> None:
        errors = self.page.locator(StepFormPage.FIELD_ERRORS)
        if errors.count() == 0:
            return
        first = errors.first
        field = StepFormPage.ERROR_FIELDS.get(first.get_attribute("id") or "", "unknown field")
        message = " ".join((first.inner_text() or "").split())
        raise StepValidationError(
            f"the legacy case system refused the step for case {ref}: field {field!r}: "
            f"{message} (nothing was registered)", field=field, system_message=message)

    # -- navigation ------------------------------------------------------------------------

    def _goto(self, path: str, what: str, *, login_page: bool = False,
              not_found_ref: str | None = None) -> Response | None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        try:
            response = self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        except PlaywrightTimeoutError:
            self._abandon_page()
            raise LegacyTransientError(f"{what} did not load within "
                                       f"{self.timeout_seconds:g} s") from None
        except PlaywrightError as exc:
            self._abandon_page()
            raise _network_error(exc, what) from None
        return self._check(response, what, login_page=login_page, not_found_ref=not_found_ref)

    def _submit(self, selector: str, what: str, *, login_page: bool = False,
                not_found_ref: str | None = None) -> Response | None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        try:
            with self.page.expect_navigation(wait_until="domcontentloaded") as navigation:
                self.page.click(selector)
            response = navigation.value
        except PlaywrightTimeoutError:
            self._abandon_page()
            raise LegacyTransientError(f"no answer to {what} within "
                                       f"{self.timeout_seconds:g} s") from None
        except PlaywrightError as exc:
            self._abandon_page()
            raise _network_error(exc, what) from None
        return self._check(response, what, login_page=login_page, not_found_ref=not_found_ref)

    def _check(self, response: Response | None, what: str, *, login_page: bool,
               not_found_ref: str | None) -> Response | None:
        status = response.status if response is not None else 0
        if status >= 500:
            raise LegacyTransientError(f"{what}: the legacy case system answered HTTP {status}")
        if not login_page and self._on_login_page():
            self._logged_in = False
            raise SessionExpiredError(f"{what}: the session had expired; logging in again")
        if status == 404 and not_found_ref is not None:
            # The page's own text repeats the case number: left out on purpose.
            raise CaseNotFoundError(f"case {not_found_ref} was not found in the legacy case "
                                    "system (or the robot's user may not see it)")
        if status >= 400:
            raise LegacyPermanentError(f"{what}: the legacy case system answered HTTP {status}: "
                                       f"{self._page_error()}")
        return response

    def _abandon_page(self) -> None:
        """Stop a load still in flight, or it aborts the retry's navigation when it lands."""
        try:
            self.page.goto("about:blank", timeout=5_000)
        except Exception:  # noqa: BLE001 - the retry reports what is still wrong
            log.debug("legacy web robot: could not clear the page", exc_info=True)

    def _on_login_page(self) -> bool:
        return self.page.url.split("?")[0].endswith(Paths.LOGIN)

    def _text_or_none(self, selector: str) -> str | None:
        locator = self.page.locator(selector)
        if locator.count() == 0:
            return None
        return " ".join((locator.first.inner_text() or "").split())

    def _page_error(self) -> str:
        text = self._text_or_none(ErrorPage.MESSAGE)
        return text or "no error text on the page"


def _parse_date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, StepFormPage.DATE_FORMAT).date()
    except ValueError:
        raise LegacyPermanentError(f"{what}: {text!r} is not a date dd-mm-yyyy") from None


def _malformed(what: str, exc: ValidationError) -> LegacyPermanentError:
    """Name the fields that did not fit, never their values (they may be a CPR number)."""
    fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}))
    return LegacyPermanentError(f"{what} does not look as expected: field(s) {fields}")


def _network_error(exc: Exception, what: str) -> LegacyWebError:
    code = _NET_ERROR.search(str(exc))
    if code:
        return LegacyTransientError(f"{what}: the connection failed ({code.group(0)})")
    if "interrupted by another navigation" in str(exc):
        # A late load from a failed attempt (or the page clearing after it) raced this one.
        return LegacyTransientError(f"{what}: the navigation was interrupted")
    return LegacyPermanentError(f"{what} failed: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
