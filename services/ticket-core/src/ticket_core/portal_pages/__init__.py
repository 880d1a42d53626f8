"""The customer portal's web pages under ``/portal/`` (Jinja2 + the console's vendored
htmx), for contacts with portal access.

``wiring`` builds the routers from one ``kit.PortalKit``; ``kit`` holds the route class
(security headers, login redirect, error pages) and the per-request helpers (the
logged-in contact from the ``helpdesk_portal_session`` cookie, CSRF-checked forms);
``security`` the portal's CSRF tokens; ``forms`` parses form and query values (pure);
``uploads`` puts the attached files into the blob store within the limits;
``session_routes`` login, logout, password change and static files; ``ticket_routes``
the ticket list, ticket page and its actions, new ticket. Reads and writes go through the
portal's domain and repository functions (``portal_repo``, ``portal_actions``), the same
as ``/api/v1/portal``. See docs/portal.md.
"""
