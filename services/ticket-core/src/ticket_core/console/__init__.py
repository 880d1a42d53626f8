"""The agent console: server-rendered pages (Jinja2, HTMX) served by ticket-core.

``wiring`` builds the page routers (``session_routes``, ``inbox_routes``,
``ticket_routes``, ...) from one ``kit.ConsoleKit``; ``console_auth`` finds the
logged-in agent from the session cookie; ``security`` holds CSRF and the response
headers; ``inbox_repo``/``ticket_repo`` read what the pages show; ``views`` turns rows
into what a template prints. Writes go through the same domain functions as the REST API
(``replies.add_reply``, ``workflow.apply_changes``, ``escalation.escalate``).
See docs/console.md.
"""
