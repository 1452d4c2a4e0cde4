"""What the robots' runs look like in Prefect's UI: named states for sign-off and outcomes
(``run_view``), masked logs forwarded with mode, outcome and task id (``run_logging``) and the
one savings artifact per run (``artifacts``)."""
