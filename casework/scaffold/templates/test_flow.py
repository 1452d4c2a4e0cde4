"""Tests for robots/address_change.py: the reading, and the policy against the code."""

from __future__ import annotations

from pathlib import Path

from casework.policy.loader import check_against_flow, load_policy
from casework.policy.scenarios import run_scenarios
from casework.registry import act_steps, discover_flows
from robots.address_change import find_address

HERE = Path(__file__).resolve().parent.parent


def test_a_clear_address_is_found_with_confidence() -> None:
    found = find_address("Hej\nNy adresse: Søndergade 4, 8600 Silkeborg\nVenlig hilsen")
    assert found.address == "Søndergade 4, 8600 Silkeborg" and found.confidence >= 0.8


def test_an_address_only_mentioned_is_unsure() -> None:
    found = find_address("Vi er flyttet til en lejlighed på Torvet.")
    assert found.address and found.confidence < 0.8


def test_no_address_is_no_suggestion() -> None:
    assert find_address("Hvornår får jeg svar?").address is None


def test_policy_matches_the_flow_and_its_scenarios_pass() -> None:
    steps = discover_flows(HERE / "robots")["address_change"]
    policy = load_policy(HERE / "policies" / "address_change.yaml")
    assert check_against_flow(policy, steps, True, acts=act_steps("address_change")) == []
    run = run_scenarios(policy)
    assert not run.problems and run.results
    assert [r.failures for r in run.results if r.failures] == []
