"""The queue works with 100,000 open tasks: one page, right counts, deep pages (its latency is
measured by bench/inbox_latency.py, not here)."""

from __future__ import annotations

DEPARTMENTS = ("byggeri", "borgerservice", "teknik-miljo", "sundhed-aeldre", "born-unge", "skole")


def _bulk_tasks(engine, n: int) -> None:
    """Generated inside SQLite (recursive CTE): the ORM would take 10+ s for 200,000 rows."""
    departments = " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(DEPARTMENTS))
    rows = (f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {n}) "
            f"SELECT i, printf('00000000-0000-0000-0000-%012d', i) AS id, "
            f"printf('c_%024x', i) AS ref, CASE i % {len(DEPARTMENTS)} {departments} END AS dep "
            "FROM n")
    stamp = "strftime('%Y-%m-%d %H:%M:%f', 'now', {}) || '000'"
    started = stamp.format("'+0 seconds'")
    created = stamp.format("'-' || i || ' minutes'")
    deadline = stamp.format("((i % 400) - 100) || ' hours'")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ledger_entries (id, flow, flow_run_id, step, step_kind, case_ref, "
            "policy_hash, mode, outcome, robot_seconds, human_seconds, baseline_minutes, "
            "saved_minutes, department, reasons, started_at) "
            f"SELECT id, 'journal', id, 'classify', 'preparatory', ref, 'p', 'signoff', "
            f"'awaiting_signoff', 1, 0, 5, 0, dep, '[]', {started} "
            f"FROM ({rows})")
        conn.exec_driver_sql(
            "INSERT INTO signoff_tasks (id, ledger_entry_id, flow, flow_run_id, step, case_ref, "
            "department, status, signoff_roles, signoff_departments, payload, created_at, "
            "deadline, version, four_eyes) "
            "SELECT id, id, 'journal', id, 'classify', ref, dep, 'awaiting', '[\"caseworker\"]', "
            "json_array(dep), json_object('case_summary', 'Sag ' || i), "
            f"{created}, {deadline}, 1, 0 "
            f"FROM ({rows})")


def test_queue_with_100k_open_tasks(engine, as_user):
    _bulk_tasks(engine, 100_000)
    lise = as_user("lise.leder")  # byggeri + teknik-miljo: a third of all tasks
    for url in ("/queue", "/queue?due=overdue", "/queue?sort=created&page=500",
                "/queue?department=byggeri&due=week"):
        page = lise.get(url)
        assert page.status_code == 200
        assert page.text.count('href="/tasks/') == 10  # one page, not all rows
    assert "Byggeri (16667)" in lise.get("/queue").text
