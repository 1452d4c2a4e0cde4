"""Loading policy files: the good file, and every kind of bad file with its exact message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from policy_helpers import GOOD_POLICY, WritePolicy

from casework.policy import (
    FlowPolicy,
    PolicyError,
    PolicyProblem,
    check_against_flow,
    load_policies,
    load_policy,
    policy_path,
)
from casework.policy.model import AUTONOMOUS_DECISION_MESSAGE

REPO = Path(__file__).resolve().parents[2]
STEP = "    kind: preparatory\n    mode: autonomous\n    manual_minutes: 2\n"


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(problem) for problem in caught.value.problems]


def one_step(extra: str = "", step: str = STEP, flow: str = "journal_placement") -> str:
    return f"flow: {flow}\nsteps:\n  read_letter:\n{step}{extra}"


# --- good files -------------------------------------------------------------------------------


def test_good_file_loads(write_policy: WritePolicy, good_text: str) -> None:
    path = write_policy(good_text)
    policy = load_policy(path)
    assert policy.flow == "journal_placement"
    assert policy.path == path
    assert policy.text == good_text
    assert policy.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert isinstance(policy.model, FlowPolicy)
    assert policy.model.department == "borgerservice"
    assert list(policy.model.steps) == ["read_letter", "suggest_journal", "grant_benefit"]
    suggest = policy.step("suggest_journal")
    assert suggest.mode == "autonomous"
    assert suggest.manual_minutes == 6
    assert suggest.deadline_hours == 72
    assert suggest.on_overdue == "remind"
    assert suggest.four_eyes is False
    assert suggest.signoff_by.roles == ["caseworker"]
    assert suggest.signoff_by.departments == []
    assert policy.step("grant_benefit").legal_basis == ["Lov om social service § 41"]
    assert [c.text for c in policy.conditions["suggest_journal"]] == [
        "confidence < 0.6",
        "case.sensitive",
        "case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]",
    ]
    assert policy.conditions["read_letter"] == []
    assert policy.lines["steps.suggest_journal"] == 9
    assert policy.lines["steps.suggest_journal.mode"] == 11


def test_defaults(write_policy: WritePolicy) -> None:
    step = load_policy(write_policy(one_step())).step("read_letter")
    assert (step.description, step.signoff_when, step.legal_basis) == (None, [], [])
    assert (step.deadline_hours, step.on_overdue, step.four_eyes) == (None, "remind", False)
    assert (step.signoff_by.roles, step.signoff_by.departments) == (["caseworker"], [])


def test_unknown_step_is_a_clear_key_error(write_policy: WritePolicy) -> None:
    policy = load_policy(write_policy(one_step()))
    with pytest.raises(KeyError, match="has no step 'nope' \\(its steps: read_letter\\)"):
        policy.step("nope")


def test_hash_changes_when_the_file_changes(write_policy: WritePolicy) -> None:
    first = load_policy(write_policy(one_step())).hash
    assert load_policy(write_policy(one_step())).hash == first
    second = load_policy(write_policy(one_step() + "    # a comment\n")).hash
    assert len(second) == 64 and second != first


def test_autonomous_decision_with_legal_basis_and_supervised_decisions_load(
    write_policy: WritePolicy,
) -> None:
    text = (
        "flow: journal_placement\nsteps:\n"
        "  a:\n    kind: decision\n    mode: autonomous\n    manual_minutes: 1\n"
        "    legal_basis: [Lov om social service § 41]\n"
        "    automation_legal_basis: [Lov om social service § 41 a]\n"
        "    effects: [grants_application]\n    facts_relied_on: [documented costs]\n"
        "  b:\n    kind: decision\n    mode: signoff\n    manual_minutes: 1\n"
        "    legal_basis: [Lov om social service § 41]\n"
        "    effects: [rejects_application]\n    facts_relied_on: [documented costs]\n"
        "  c:\n    kind: decision\n    mode: manual\n    manual_minutes: 1\n"
    )
    assert list(load_policy(write_policy(text)).model.steps) == ["a", "b", "c"]


def test_repository_policy_matches_the_journal_placement_flow() -> None:
    import flows.journal_placement  # noqa: F401  (registers its steps)
    from casework.registry import flow_steps

    policy = load_policy(REPO / "policies" / "journal_placement.yaml")
    steps = flow_steps()["journal_placement"]
    assert check_against_flow(policy, steps, True) == []
    assert {name: s.mode for name, s in policy.model.steps.items()} == dict.fromkeys(
        steps, "autonomous"
    )
    assert [s.manual_minutes for s in policy.model.steps.values()] == [3, 6, 2]


# --- bad files: exact messages ----------------------------------------------------------------


def test_yaml_syntax_error(write_policy: WritePolicy) -> None:
    path = write_policy(one_step("    description: a: b\n", flow="x"), "x.yaml")
    assert problems(path) == ["policies/x.yaml:7: YAML error: mapping values are not allowed here"]


def test_yaml_error_with_context(write_policy: WritePolicy) -> None:
    path = write_policy("flow: x\n---\nflow: x\n", "x.yaml")
    assert problems(path) == [
        "policies/x.yaml:2: YAML error: expected a single document in the stream, "
        "but found another document"
    ]


def test_unsafe_yaml_tags_are_refused(write_policy: WritePolicy) -> None:
    path = write_policy("flow: x\nsteps: !!python/object/apply:os.system [ls]\n", "x.yaml")
    assert problems(path) == [
        "policies/x.yaml:2: YAML error: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    ]


@pytest.mark.parametrize("text", ["", "# nothing here\n", "~\n", "---\n"])
def test_empty_file(write_policy: WritePolicy, text: str) -> None:
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml: the file is empty; "
        "a policy needs at least 'flow' and 'steps'"
    ]


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "a list"), ("hello\n", "'hello'")])
def test_top_level_not_a_mapping(write_policy: WritePolicy, text: str, got: str) -> None:
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:1: the top level must be a mapping of fields "
        f"(flow, steps, ...), got {got}"
    ]


def test_duplicate_keys(write_policy: WritePolicy) -> None:
    text = one_step("    mode: signoff\n") + "flow: journal_placement\n"
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:7: steps.read_letter.mode: duplicate key 'mode'",
        "policies/journal_placement.yaml:8: flow: duplicate key 'flow'",
    ]


def test_unknown_field_with_suggestion(write_policy: WritePolicy) -> None:
    text = one_step("    signof_when: [confidence < 0.5]\n")
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:7: steps.read_letter.signof_when: "
        "unknown field 'signof_when' (did you mean 'signoff_when'?)"
    ]


def test_unknown_fields_at_every_level(write_policy: WritePolicy) -> None:
    text = "colour: blue\n" + one_step(
        "    signoff_by: {roles: [manager], departmets: [a]}\n    weight: 3\n"
    )
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:1: colour: unknown field 'colour'",
        "policies/journal_placement.yaml:8: steps.read_letter.signoff_by.departmets: "
        "unknown field 'departmets' (did you mean 'departments'?)",
        "policies/journal_placement.yaml:9: steps.read_letter.weight: unknown field 'weight'",
    ]


def test_missing_fields(write_policy: WritePolicy) -> None:
    text = "flow: journal_placement\nsteps:\n  read_letter:\n    kind: preparatory\n"
    text += "    mode: autonomous\n"
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:3: steps.read_letter: "
        "missing required field 'manual_minutes'"
    ]


def test_missing_top_level_fields(write_policy: WritePolicy) -> None:
    assert problems(write_policy("description: nothing else\n")) == [
        "policies/journal_placement.yaml:1: missing required field 'flow'",
        "policies/journal_placement.yaml:1: missing required field 'steps'",
    ]


def test_bad_enums(write_policy: WritePolicy) -> None:
    step = "    kind: preparatory\n    mode: auto\n    manual_minutes: 2\n"
    extra = "    on_overdue: [remind]\n    signoff_by: {roles: [boss]}\n"
    assert problems(write_policy(one_step(extra, step))) == [
        "policies/journal_placement.yaml:5: steps.read_letter.mode: "
        "must be one of autonomous, signoff, manual, shadow (got 'auto')",
        "policies/journal_placement.yaml:7: steps.read_letter.on_overdue: "
        "must be one of remind, reassign, manual (got a list)",
        "policies/journal_placement.yaml:8: steps.read_letter.signoff_by.roles[0]: "
        "must be one of caseworker, team_lead, manager, automation_admin (got 'boss')",
    ]


@pytest.mark.parametrize(
    ("value", "got"),
    [("-3", "-3"), ("0", "0"), ("'5'", "'5'"), ("yes", "true"), ("", "null"), ("-2.5", "-2.5")],
)
def test_bad_numbers(write_policy: WritePolicy, value: str, got: str) -> None:
    step = f"    kind: preparatory\n    mode: autonomous\n    manual_minutes: {value}\n"
    assert problems(write_policy(one_step(step=step))) == [
        "policies/journal_placement.yaml:6: steps.read_letter.manual_minutes: "
        f"must be a number greater than 0 (got {got})"
    ]


def test_bad_optional_values(write_policy: WritePolicy) -> None:
    extra = (
        "    deadline_hours: 0\n"
        "    four_eyes: 'no'\n"
        "    description: 12\n"
        "    legal_basis: Lov om social service\n"
        "    signoff_by: {roles: [], departments: ['']}\n"
        "    signoff_when: [3]\n"
    )
    assert problems(write_policy(one_step(extra))) == [
        "policies/journal_placement.yaml:7: steps.read_letter.deadline_hours: "
        "must be a number greater than 0 (got 0)",
        "policies/journal_placement.yaml:8: steps.read_letter.four_eyes: "
        "must be true or false (got 'no')",
        "policies/journal_placement.yaml:9: steps.read_letter.description: must be text (got 12)",
        "policies/journal_placement.yaml:10: steps.read_letter.legal_basis: "
        "must be a list (got 'Lov om social service')",
        "policies/journal_placement.yaml:11: steps.read_letter.signoff_by.roles: "
        "must list at least one role",
        "policies/journal_placement.yaml:11: steps.read_letter.signoff_by.departments[0]: "
        "must not be empty",
        "policies/journal_placement.yaml:12: steps.read_letter.signoff_when[0]: "
        "must be text (got 3)",
    ]


def test_infinite_numbers_are_refused(write_policy: WritePolicy) -> None:
    assert problems(write_policy(one_step("    deadline_hours: .inf\n"))) == [
        "policies/journal_placement.yaml:7: steps.read_letter.deadline_hours: "
        "must be a finite number (got inf)"
    ]


def test_flow_must_match_file_name(write_policy: WritePolicy) -> None:
    path = write_policy(one_step(flow="x"), "y.yaml")
    assert problems(path) == [
        "policies/y.yaml:1: flow: flow 'x' does not match the file name 'y.yaml'"
    ]


def test_flow_and_step_names(write_policy: WritePolicy) -> None:
    text = "flow: Journal Placement\nsteps:\n  Read-Letter:\n" + STEP + "  7:\n" + STEP
    assert problems(write_policy(text)) == [
        "policies/journal_placement.yaml:1: flow: must be lower case letters, digits and _, "
        "starting with a letter (got 'Journal Placement')",
        "policies/journal_placement.yaml:3: steps.Read-Letter: invalid step name 'Read-Letter': "
        "must be lower case letters, digits and _, starting with a letter",
        "policies/journal_placement.yaml:7: steps.7: invalid step name 7: "
        "must be lower case letters, digits and _, starting with a letter",
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("steps: {}\n", "steps: must have at least one step"),
        ("steps:\n", "steps: must be a mapping of fields (got null)"),
        ("steps: [read_letter]\n", "steps: must be a mapping of fields (got a list)"),
    ],
)
def test_steps_must_be_a_non_empty_mapping(
    write_policy: WritePolicy, steps: str, message: str
) -> None:
    path = write_policy("flow: journal_placement\n" + steps)
    assert problems(path) == [f"policies/journal_placement.yaml:2: {message}"]


def test_step_must_be_a_mapping(write_policy: WritePolicy) -> None:
    path = write_policy("flow: journal_placement\nsteps:\n  read_letter:\n")
    assert problems(path) == [
        "policies/journal_placement.yaml:3: steps.read_letter: "
        "must be a mapping of fields (got null)"
    ]


def test_autonomous_decision_without_legal_basis(write_policy: WritePolicy) -> None:
    step = "    kind: decision\n    mode: autonomous\n    manual_minutes: 2\n"
    for extra in ("", "    legal_basis: []\n"):
        assert problems(write_policy(one_step(extra, step))) == [
            "policies/journal_placement.yaml:5: steps.read_letter.mode: "
            + AUTONOMOUS_DECISION_MESSAGE
        ]
    assert AUTONOMOUS_DECISION_MESSAGE == (
        "a decision step cannot be autonomous without a legal_basis "
        "(forvaltningsloven and GDPR Art. 22 forbid unsupervised automated decisions)"
    )


def test_conditions_that_do_not_parse(write_policy: WritePolicy) -> None:
    extra = "    signoff_when:\n      - confidence < 0.6\n      - confidence <\n      - x > 1\n"
    assert problems(write_policy(one_step(extra))) == [
        "policies/journal_placement.yaml:9: steps.read_letter.signoff_when[1]: "
        "cannot parse condition 'confidence <': expected a value at column 13",
        "policies/journal_placement.yaml:10: steps.read_letter.signoff_when[2]: "
        "cannot parse condition 'x > 1': unknown name 'x' "
        "(use confidence, case.<field> or result.<field>)",
    ]


def test_condition_braces_are_not_a_message_template(write_policy: WritePolicy) -> None:
    extra = "    signoff_when: ['case.a == {x}']\n"
    assert problems(write_policy(one_step(extra))) == [
        "policies/journal_placement.yaml:7: steps.read_letter.signoff_when[0]: "
        "cannot parse condition 'case.a == {x}': unexpected character '{' at column 11"
    ]


def test_all_problems_are_reported_sorted_by_line(write_policy: WritePolicy) -> None:
    text = (
        "flow: other\n"                          # 1 flow name mismatch
        "steps:\n"
        "  read_letter:\n"                       # 3 missing manual_minutes
        "    kind: preparatory\n"
        "    mode: auto\n"                       # 5 bad enum
        "    mode: signoff\n"                    # 6 duplicate key
        "  suggest_journal:\n"
        "    kind: decision\n"
        "    mode: autonomous\n"                 # 9 no legal basis
        "    manual_minutes: -3\n"               # 10 bad number
        "    signoff_when: [confidence <]\n"     # 11 bad condition
        "    signof_by: {}\n"                    # 12 unknown field
    )  # fmt: skip
    found = problems(write_policy(text))
    assert [line.split(":")[1] for line in found] == ["1", "3", "6", "9", "10", "11", "12"]
    assert found[0] == (
        "policies/journal_placement.yaml:1: flow: flow 'other' does not match the file name "
        "'journal_placement.yaml'"
    )
    assert found[-1] == (
        "policies/journal_placement.yaml:12: steps.suggest_journal.signof_by: "
        "unknown field 'signof_by' (did you mean 'signoff_by'?)"
    )


def test_missing_file(workdir: Path) -> None:
    assert problems(Path("policies/nope.yaml")) == [
        "policies/nope.yaml: cannot read file: No such file or directory"
    ]


def test_directory_instead_of_file(workdir: Path) -> None:
    assert problems(Path("policies")) == ["policies: cannot read file: Is a directory"]


def test_not_utf8(workdir: Path) -> None:
    path = Path("policies/journal_placement.yaml")
    path.write_bytes(b"flow: journal_placement\ndescription: \xe6\xf8\xe5\n")
    assert problems(path) == ["policies/journal_placement.yaml:2: cannot read file: not UTF-8 text"]


def test_yml_extension_is_flagged(write_policy: WritePolicy) -> None:
    path = write_policy(one_step(), "journal_placement.yml")
    assert problems(path) == [
        "policies/journal_placement.yml: the file name must end in .yaml "
        "(rename it to journal_placement.yaml)"
    ]


def test_absolute_paths_outside_the_working_dir_are_shown_in_full(
    tmp_path: Path, write_policy: WritePolicy
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text("flow: x\n", encoding="utf-8")
    try:
        assert problems(outside)[0].startswith(f"{outside}:1: ")
    finally:
        outside.unlink()
    inside = (tmp_path / write_policy("flow: x\n")).resolve()
    assert problems(inside)[0].startswith("policies/journal_placement.yaml:1: ")


def test_problem_formatting() -> None:
    assert str(PolicyProblem("p.yaml", 3, "flow", "bad")) == "p.yaml:3: flow: bad"
    assert str(PolicyProblem("p.yaml", None, "flow", "bad")) == "p.yaml: flow: bad"
    assert str(PolicyProblem("p.yaml", 3, "", "bad")) == "p.yaml:3: bad"
    assert str(PolicyProblem("p.yaml", None, "", "bad")) == "p.yaml: bad"
    error = PolicyError([PolicyProblem("a", 1, "", "x"), PolicyProblem("b", None, "f", "y")])
    assert str(error) == "a:1: x\nb: f: y"


# --- several files, and the flow's code -------------------------------------------------------


def test_load_policies_and_policy_path(write_policy: WritePolicy) -> None:
    write_policy(GOOD_POLICY.format(flow="journal_placement"))
    write_policy(one_step(flow="other"), "other.yaml")
    write_policy("flow: hidden\n", ".hidden.yaml")
    policies = load_policies(Path("policies"))
    assert sorted(policies) == ["journal_placement", "other"]
    assert policy_path(Path("policies"), "other") == Path("policies/other.yaml")
    assert policies["other"].path == policy_path(Path("policies"), "other")
    for bad in ("../etc/passwd", "Other", ""):
        with pytest.raises(ValueError, match="invalid flow name"):
            policy_path(Path("policies"), bad)


def test_load_policies_reports_all_files(write_policy: WritePolicy) -> None:
    write_policy(one_step(flow="a"), "a.yaml")
    write_policy("flow: b\n", "b.yaml")
    write_policy("flow: c\nsteps: {}\n", "c.yaml")
    write_policy(one_step(flow="d"), "d.yml")
    with pytest.raises(PolicyError) as caught:
        load_policies(Path("policies"))
    assert str(caught.value).splitlines() == [
        "policies/b.yaml:1: missing required field 'steps'",
        "policies/c.yaml:2: steps: must have at least one step",
        "policies/d.yml: the file name must end in .yaml (rename it to d.yaml)",
    ]


def test_load_policies_missing_directory(workdir: Path) -> None:
    with pytest.raises(PolicyError, match="^nowhere: cannot read directory: not found$"):
        load_policies(Path("nowhere"))


def test_check_against_flow(write_policy: WritePolicy, good_text: str) -> None:
    policy = load_policy(write_policy(good_text))
    steps = {"read_letter": "preparatory", "suggest_journal": "preparatory",
             "grant_benefit": "decision"}  # fmt: skip
    assert check_against_flow(policy, steps, True) == []
    code = {"read_letter": "preparatory", "suggest_journal": "decision", "file_document": "x"}
    assert [str(p) for p in check_against_flow(policy, code, True)] == [
        "policies/journal_placement.yaml:4: steps: step 'file_document' of flow "
        "'journal_placement' has no policy",
        "policies/journal_placement.yaml:10: steps.suggest_journal.kind: kind 'preparatory' "
        "does not match flow 'journal_placement', whose code declares step 'suggest_journal' "
        "as 'decision'",
        "policies/journal_placement.yaml:22: steps.grant_benefit: unknown step 'grant_benefit': "
        "flow 'journal_placement' has no such step "
        "(its steps: read_letter, suggest_journal, file_document)",
    ]
    assert [str(p) for p in check_against_flow(policy, {}, False)] == [
        "policies/journal_placement.yaml:1: flow: no flow named 'journal_placement' in flows/"
    ]
    assert [str(p) for p in check_against_flow(policy, {}, False, flows_label="src/flows/")] == [
        "policies/journal_placement.yaml:1: flow: no flow named 'journal_placement' in src/flows/"
    ]
    assert len(check_against_flow(policy, {}, True)) == 3
