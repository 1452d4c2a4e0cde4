"""Parsers on the shipped files, and clear errors for malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casework.suggest import resources
from casework.suggest.taxonomy import (
    ALL_BRANCHES,
    TaxonomyError,
    fsiii_labels,
    load_fsiii,
    load_kle,
    load_taxonomy,
    parse_fsiii,
    parse_kle,
)


def test_shipped_files_live_in_the_package() -> None:
    assert resources.KLE_FILE.is_file()
    assert resources.FSIII_FILE.is_file()
    assert (resources.DATA_DIR / "NOTICE.md").is_file()
    assert "casework" in resources.KLE_FILE.parts
    assert resources.sib200_file("nob", "dev").is_file()


def test_kle_shipped_file_has_all_subjects() -> None:
    subjects = parse_kle(resources.KLE_FILE)
    assert len(subjects) == 2390
    assert len({s.code for s in subjects}) == 2390
    assert sum(len(s.keywords) for s in subjects) == 32295
    permit = next(s for s in subjects if s.code == "02.34.02")
    assert permit.title == "Byggetilladelse"
    assert permit.main_group == "02" and permit.group == "02.34"
    assert any(k.text == "Byggetilladelse" and k.weight == 100 for k in permit.keywords)
    assert subjects[0].line == 1


def test_kle_labels_carry_group_titles() -> None:
    taxonomy = load_kle()
    assert taxonomy.name == "kle" and len(taxonomy.labels) == 2390
    assert taxonomy.sha256 == resources.sha256_file(resources.KLE_FILE)
    label = taxonomy.by_code()["02.34.02"]
    assert label.group == "02.34"
    assert label.group_title.startswith("Byggetilladelse og anmeldelse")


def test_kle_accepts_both_keyword_separators(tmp_path: Path) -> None:
    path = tmp_path / "kle.txt"
    path.write_text(
        "KLENummer='01.02.03':KLETitel='Ny':Keywords[Weight]=a b[5];c[10];\n"
        "\n"
        "KLENummer='01.02.04':KLETitel='Gammel':Keywords[Weight]:d[1];\n"
        "KLENummer='01.02.05':KLETitel='Uden nøgleord':Keywords[Weight]=\n",
        encoding="utf-8",
    )
    subjects = parse_kle(path)
    assert [s.code for s in subjects] == ["01.02.03", "01.02.04", "01.02.05"]
    assert [(k.text, k.weight) for k in subjects[0].keywords] == [("a b", 5), ("c", 10)]
    assert subjects[1].keywords[0].text == "d" and subjects[1].line == 3
    assert subjects[2].keywords == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not a kle line", "not a KLE line"),
        ("KLENummer='1.2.3':KLETitel='x':Keywords[Weight]=a[5];", "is not NN.NN.NN"),
        ("KLENummer='01.02.03':KLETitel='x':Keywords[Weight]=a[five];", "is not 'text[weight]'"),
        ("KLENummer='01.02.03':KLETitel=' ':Keywords[Weight]=a[5];", "empty title"),
    ],
)
def test_kle_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("KLENummer='01.02.01':KLETitel='ok':Keywords[Weight]=a[5];\n" + line + "\n",
                    encoding="utf-8")
    with pytest.raises(TaxonomyError) as err:
        parse_kle(path)
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_kle_duplicate_and_empty(tmp_path: Path) -> None:
    dup = tmp_path / "dup.txt"
    dup.write_text("KLENummer='01.02.01':KLETitel='a':Keywords[Weight]=\n" * 2, encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"dup.txt:2: KLE number 01.02.01 already on line 1"):
        parse_kle(dup)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="no KLE subjects"):
        parse_kle(empty)
    with pytest.raises(TaxonomyError, match="cannot read"):
        parse_kle(tmp_path / "missing.txt")


def test_fsiii_condition_branches() -> None:
    concepts = parse_fsiii(resources.FSIII_FILE)
    leaves_i = [c for c in concepts if c.branch == "I" and c.is_leaf and c.depth > 0]
    leaves_j = [c for c in concepts if c.branch == "J" and c.is_leaf and c.depth > 0]
    assert len(leaves_i) == 43 and len(leaves_j) == 30
    pain = next(c for c in concepts if c.code == "I9.3")
    assert pain.display == "Kroniske smerter"
    assert pain.parent == "I9" and pain.parent_display == "Smerter og sanseindtryk"
    assert pain.branch_display == "Helbredstilstande" and pain.depth == 2
    assert pain.definition and "kroniske smerter" in pain.definition

    taxonomy = load_fsiii()
    assert taxonomy.name == "fsiii" and len(taxonomy.labels) == 73
    label = taxonomy.by_code()["J3.8"]
    assert (label.title, label.group, label.group_title) == ("Gå", "J3", "Mobilitet")
    assert label.description.startswith("Bevæge sig til fods")
    general = fsiii_labels(concepts, ["F"])
    assert len(general) == 11
    assert len(load_taxonomy("fsiii", branches=ALL_BRANCHES).labels) > 200


def test_fsiii_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "cs.json"
    bad_json.write_text('{\n  "resourceType": "CodeSystem",\n  "concept": [\n}', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"cs.json:4: invalid JSON"):
        parse_fsiii(bad_json)

    not_cs = tmp_path / "patient.json"
    not_cs.write_text(json.dumps({"resourceType": "Patient"}), encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not a FHIR CodeSystem"):
        parse_fsiii(not_cs)

    no_code = tmp_path / "nocode.json"
    no_code.write_text(json.dumps({"resourceType": "CodeSystem", "concept": [
        {"code": "I", "display": "Helbred", "concept": [{"display": "uden kode"}]}]}),
        encoding="utf-8")
    with pytest.raises(TaxonomyError,
                       match=r"nocode.json: concept\[0\].concept\[0\] has no 'code'"):
        parse_fsiii(no_code)

    with pytest.raises(TaxonomyError, match="unknown FSIII branch"):
        load_fsiii(branches=["Q"])
    with pytest.raises(TaxonomyError, match="unknown taxonomy"):
        load_taxonomy("icd10")
