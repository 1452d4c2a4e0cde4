"""The sign-off inbox: a server-rendered web app where caseworkers approve, amend or reject
what a robot prepared. ``create_app`` in ``casework.inbox.app`` builds it."""
