"""Hot endpoints served ahead of FastAPI's router, as plain Starlette routes.

FastAPI's router scans every included router per request and resolves each endpoint's
parameters through its dependency machinery; for a route called a thousand times a
second (the gateway's messenger webhooks) that was a quarter of the process's CPU.
``DirectRoutes`` sits inside the app's middleware (so the correlation id is bound and
unhandled errors still become 500s) and answers the requests its routes match itself:
an endpoint takes the ``Request`` and reads ``request.path_params``. ``HTTPException``
is answered by the app's own handlers, exactly as FastAPI would answer it (``{"detail":
...}`` JSON, headers kept; a known path with another method gets 405). Everything else
goes on to FastAPI. Direct routes are not in the OpenAPI document by themselves:
``add_to_openapi`` puts a hand-written description of them there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

EXCEPTION_HANDLERS = "starlette.exception_handlers"


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)
        self._handlers: tuple[dict[Any, Any], dict[int, Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            partial = None
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    await self._handle(route, child_scope, scope, receive, send)
                    return
                if match is Match.PARTIAL and partial is None:
                    partial = (route, child_scope)
            if partial is not None:  # the path is ours, the method is not: 405
                route, child_scope = partial
                scope.update(child_scope)
                scope[EXCEPTION_HANDLERS] = self._exception_handlers(scope)
                # The route raises HTTPException(405) itself, outside its endpoint.
                answer = wrap_app_handling_exceptions(route.handle, Request(scope, receive))
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _handle(
        self, route: BaseRoute, child_scope: Scope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope.update(child_scope)
        scope[EXCEPTION_HANDLERS] = self._exception_handlers(scope)
        await route.handle(scope, receive, send)

    def _exception_handlers(self, scope: Scope) -> tuple[dict[Any, Any], dict[int, Any]]:
        """The app's handlers (FastAPI's ``HTTPException`` one among them), split by key
        the way Starlette's ``ExceptionMiddleware`` hands them to a route."""
        if self._handlers is None:
            by_class: dict[Any, Any] = {}
            by_status: dict[int, Any] = {}
            for key, handler in scope["app"].exception_handlers.items():
                (by_status if isinstance(key, int) else by_class)[key] = handler
            self._handlers = (by_class, by_status)
        return self._handlers


def add_to_openapi(
    app: FastAPI, routes: Sequence[BaseRoute], path_items: Mapping[str, Mapping[str, Any]]
) -> None:
    """Put hand-written OpenAPI path items for direct routes into ``app``'s document.

    ``path_items`` maps each route's path (Starlette's template, the same as OpenAPI's) to
    its path item (lower-case method -> operation). Every method of every ``Route`` must be
    described and nothing else (``ValueError`` at wiring), so the document cannot drift
    from the routes silently. The document is still built once, on first request."""
    served = {
        (route.path, method.lower())
        for route in routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, method) for path, item in path_items.items() for method in item}
    if served != described:
        raise ValueError(
            f"direct routes and their OpenAPI description differ: "
            f"undescribed {sorted(served - described)}, not served {sorted(described - served)}"
        )
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # FastAPI's own (it caches it in app.openapi_schema)
            paths = schema.setdefault("paths", {})
            for path, item in path_items.items():
                paths[path] = {**paths.get(path, {}), **copy.deepcopy(dict(item))}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
