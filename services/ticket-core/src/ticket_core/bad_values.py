"""Values the database refuses as data (SQLSTATE class 22: a NUL character in a text,
a number out of its column's range, ...) are the caller's bad input: a 422 with the
reason, never a 500. Installed on the app once; the refused request changed nothing
(its transaction was rolled back by the error)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

# SQLSTATE -> the reason the caller reads.
_REASONS = {
    "22021": "text must not contain NUL characters",  # character_not_in_repertoire
    "22P05": "text must not contain NUL characters",  # untranslatable_character (JSON)
    "22003": "a number is out of range",  # numeric_value_out_of_range
}
_DEFAULT = "a value is not acceptable to the database"


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, through SQLAlchemy's and the driver's wrappers."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str) and code:
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def is_bad_value(exc: BaseException) -> bool:
    code = sqlstate_of(exc)
    return code is not None and code.startswith("22")


async def _refuse(request: Request, exc: Exception) -> JSONResponse:
    if not is_bad_value(exc):
        raise exc
    code = sqlstate_of(exc) or ""
    return JSONResponse(status_code=422, content={"detail": _REASONS.get(code, _DEFAULT)})


def install_bad_value_handler(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, _refuse)
