"""A cProfile dump as shares of own CPU time per module group (where the time goes).

Functions of helper modules (builtins, ``re``, ``enum``, ...) are charged to the groups
that called them, in proportion to the calls' cumulative time, so ``json.dumps`` inside
the logger counts as logging rather than as "builtins".
"""

from __future__ import annotations

import pstats
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Categories = Sequence[tuple[str, str]]  # (substring of "<file> <function>", label)
_HELPERS = (
    "/re/",
    "/enum.py",
    "/functools.py",
    "/codecs.py",
    "/encodings/",
    "/json/",
    "/typing.py",
    "/contextlib.py",
    "/abc.py",
)


def _category(key: tuple[str, int, str], categories: Categories) -> str | None:
    where = f"{key[0]} {key[2]}"
    for needle, label in categories:
        if needle in where:
            return label
    if key[0] == "~" or any(h in key[0] for h in _HELPERS):
        return None
    return "other"


def _owners(
    key: Any, stats: dict[Any, Any], seen: frozenset[Any], categories: Categories
) -> dict[str, float]:
    label = _category(key, categories)
    if label is not None:
        return {label: 1.0}
    callers = {c: st[3] for c, st in stats[key][4].items() if c not in seen and c in stats}
    total = sum(callers.values())
    if not total:
        return {"other": 1.0}
    owed: Counter[str] = Counter()
    for caller, weight in callers.items():
        for owner, part in _owners(caller, stats, seen | {key}, categories).items():
            owed[owner] += part * weight / total
    return dict(owed)


def grouped(path: Path, categories: Categories, top: int = 12) -> dict[str, Any]:
    """Own-time shares per group and the functions with the most own time."""
    stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    shares: Counter[str] = Counter()
    for key, (_cc, _nc, tottime, _ct, _callers) in stats.items():
        for owner, part in _owners(key, stats, frozenset(), categories).items():
            shares[owner] += tottime * part
    total = sum(shares.values()) or 1.0
    heaviest = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return {
        "profiled_cpu_seconds": round(total, 3),
        "share": {k: round(v / total, 3) for k, v in shares.most_common()},
        "top_own_time": [
            {
                "function": f"{Path(k[0]).parent.name}/{Path(k[0]).name}:{k[1]}({k[2]})",
                "seconds": round(v[2], 3),
                "calls": v[1],
            }
            for k, v in heaviest
        ],
    }


def cumulative(path: Path, specs: Sequence[tuple[str, str, str]]) -> dict[str, float]:
    """CPU seconds spent in (and under) chosen functions: ``(file substring, function name,
    label)``. Coroutines count every resumption, so this is their whole CPU cost."""
    stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for needle, function, label in specs:
        matching = [st[3] for key, st in stats.items() if needle in key[0] and key[2] == function]
        out[label] = round(max(matching, default=0.0), 3)
    return out
