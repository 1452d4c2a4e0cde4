"""Settings from the environment and the ``inbox`` commands."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from casework.db.models import InboxUserDepartment
from casework.db.session import reading
from casework.inbox.cli import register
from casework.inbox.settings import InboxSettings


def test_settings_from_environment(monkeypatch):
    for name in ("DEV_LOGIN", "SECRET_KEY", "COOKIE_SECURE", "IDLE_CAP_SECONDS"):
        monkeypatch.delenv(f"CASEWORK_INBOX_{name}", raising=False)
    assert InboxSettings().dev_login is False
    assert InboxSettings().cookie_secure is True
    assert InboxSettings().idle_cap_seconds == 120
    monkeypatch.setenv("CASEWORK_INBOX_DEV_LOGIN", "true")
    monkeypatch.setenv("CASEWORK_INBOX_SECRET_KEY", "from-env")
    monkeypatch.setenv("CASEWORK_INBOX_IDLE_CAP_SECONDS", "90")
    settings = InboxSettings()
    assert settings.dev_login is True
    assert settings.secret_key.get_secret_value() == "from-env"
    assert settings.idle_cap_seconds == 90


def test_seed_demo_users_command(db_engine):
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    register(app)
    runner = CliRunner()
    for _ in range(2):  # safe to run again
        result = runner.invoke(app, ["inbox", "seed-demo-users"])
        assert result.exit_code == 0, result.output
    with reading(db_engine) as s:
        departments = set(s.scalars(InboxUserDepartment.__table__.select()
                                    .with_only_columns(InboxUserDepartment.department)))
    assert departments == {"byggeri", "borgerservice", "teknik-miljo", "sundhed-aeldre",
                           "born-unge", "skole"}
    help_text = runner.invoke(app, ["inbox", "serve", "--help"]).output
    assert "--host" in help_text and "--port" in help_text
