"""With CASEWORK_REQUIRE_ACTIVATED_POLICY, a flow runs only under the policy version that was
activated (its scenarios passed); an edited, unactivated file stops the run before any step."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import func, select

from casework.case import Case
from casework.db.models import LedgerEntry
from casework.db.session import reading
from casework.policy.activation import activate
from casework.runtime import CaseworkFlow, PolicyNotActivated
from casework.settings import reset_settings_cache

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


def test_only_the_activated_version_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEWORK_REQUIRE_ACTIVATED_POLICY", "true")
    reset_settings_cache()
    name = f"act_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nai_act: {{risk: minimal}}\nsteps:\n"
                      "  read:\n    kind: preparatory\n    effects: [collects_data]\n"
                      "    mode: autonomous\n    manual_minutes: 2\n")
    (tmp_path / f"{name}.scenarios.yaml").write_text(
        f"flow: {name}\nscenarios:\n  - name: reads on its own\n"
        "    steps:\n      read: {expect: autonomous}\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step()
    def read(case: Case) -> dict:
        return {"ok": True}

    @robot.flow()
    def run() -> str:
        return read(Case(id="SAG-1")).mode.value

    with pytest.raises(PolicyNotActivated, match="none activated"):
        run()
    assert activate(policy, by="Mette Chef").recorded
    assert run() == "autonomous"

    policy.write_text(policy.read_text().replace("manual_minutes: 2", "manual_minutes: 3"))
    with pytest.raises(PolicyNotActivated, match="casework policy activate"):
        run()
    with reading() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
