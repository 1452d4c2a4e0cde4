"""The citizen's rights around automated casework: an explanation of how the robot helped with
a case (``explain``, ``explain_render``), a person's review on request (``review``), the party
hearing before a decision (``hearing``) and retention that reaches every copy of personal data,
ours and Prefect's (``retention``, ``retention_prefect``); ``cli`` holds their commands."""
