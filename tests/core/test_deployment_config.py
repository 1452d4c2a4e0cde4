"""prefect.yaml and deploy/automations.yaml are valid for Prefect 3.8 and point at real flows.
(The crash suite deploys prefect.yaml for real against a Prefect server.)"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_deployment_names_an_existing_flow_on_the_casework_pool() -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert config["deployments"], "no deployments declared"
    for deployment in config["deployments"]:
        path, function = deployment["entrypoint"].split(":")
        module = ast.parse((REPO / path).read_text())
        names = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
        assert function in names, f"{deployment['name']}: no {function} in {path}"
        assert deployment["work_pool"]["name"] == "casework"
        assert "casework" in deployment["tags"]
        assert deployment["work_pool"]["job_variables"]["env"]["CASEWORK_SIGNOFF_WAIT"] in (
            "suspend", "record")


def test_no_secret_in_the_deployment_file() -> None:
    text = (REPO / "prefect.yaml").read_text().lower()
    for word in ("password", "secret_key", "client_secret", "pseudonym_key", "token:"):
        assert word not in text


def test_automations_are_valid_prefect_automations() -> None:
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load((REPO / "deploy" / "automations.yaml").read_text())
    names = [AutomationCore.model_validate(a).name for a in data["automations"]]
    assert names == ["casework-crash-zombie-flow-runs", "casework-retry-crashed-flow-runs"]


def test_bundled_schedules_start_inactive() -> None:
    """`prefect deploy --all` on a developer's machine must not start robots that need a
    mailbox and a case system every five minutes."""
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    schedules = [s for d in config["deployments"] for s in d.get("schedules") or []]
    assert schedules and all(s.get("active") is False for s in schedules)


def test_automations_act_on_casework_runs_only_and_know_our_named_states() -> None:
    """The zombie automation must see a run that ended in a named state ("Completed with failed
    items") or waits suspended as alive; both act only on runs tagged ``casework``."""
    from prefect.server.events.schemas.automations import AutomationCore

    data = yaml.safe_load((REPO / "deploy" / "automations.yaml").read_text())
    zombie, retry = (AutomationCore.model_validate(a) for a in data["automations"])
    for automation in (zombie, retry):
        related = automation.trigger.match_related
        related = related if isinstance(related, list) else [related]
        assert any(r.root.get("prefect.resource.id") == "prefect.tag.casework"
                   for r in related)
    for event in ("Completed", "Completed with failed items",
                  "Completed with items awaiting sign-off", "Suspended", "Paused", "Failed",
                  "Crashed", "Cancelled", "heartbeat"):
        assert zombie.trigger.expects(f"prefect.flow-run.{event}"), event
    assert retry.trigger.expects("prefect.flow-run.Crashed")
    assert not retry.trigger.expects("prefect.flow-run.Completed")


def test_prefect_yaml_comments_match_the_settings() -> None:
    text = (REPO / "prefect.yaml").read_text()
    config = yaml.safe_load(text)
    import prefect

    assert config["prefect-version"] == prefect.__version__
    for deployment in config["deployments"]:
        if deployment.get("concurrency_limit", 1) > 1:
            assert "one batch at a time" not in text
