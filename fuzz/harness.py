"""What every atheris harness shares: a corpus directory seeded from the test fixtures,
a bounded run (``FUZZ_SECONDS``, default 60) and crash files kept for the record.

``run(name, seeds, test_one_input)``: the corpus lives in ``.data/fuzz/<name>/corpus``
(seeded when empty; libFuzzer adds the inputs that reach new code), crashing inputs are
written to ``.data/fuzz/<name>/crash-<sha1>`` and the process exits non-zero. Extra
command-line arguments go to libFuzzer (e.g. ``-runs=1000``).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent


def _seed(corpus: Path, seeds: Iterable[bytes]) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return 0
    count = 0
    for data in seeds:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    return count


def run(name: str, seeds: Iterable[bytes], test_one_input: Callable[[bytes], None]) -> None:
    work = Path(os.environ.get("FUZZ_DIR", ROOT / ".data" / "fuzz")) / name
    corpus = work / "corpus"
    seeded = _seed(corpus, seeds)
    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    print(f"fuzz {name}: corpus {corpus} (+{seeded} seeds), {seconds} s", flush=True)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        f"-artifact_prefix={work}/",
        "-rss_limit_mb=4096",
        "-timeout=30",
        *sys.argv[1:],
    ]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
