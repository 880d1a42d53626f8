"""One phase of load: the driver (``bench/gateway_load.py``) run as a second process
against a target's port; its JSON result."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .gateway_system import Target


def drive(
    target: Target,
    args: argparse.Namespace,
    *,
    mode: str,
    path: str,
    channel: str = "telegram",
    secret: str = "",
    seconds: float,
    id_base: int,
) -> dict[str, Any]:
    """One phase: the load driver as a separate process; its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = Path(out.name)
    argv = [
        sys.executable,
        "-m",
        "bench.gateway_load",
        f"--port={target.port}",
        f"--path={path}",
        f"--channel={channel}",
        f"--secret={secret}",
        f"--mode={mode}",
        f"--concurrency={args.concurrency}",
        f"--rate={args.rate}",
        f"--max-connections={args.max_connections}",
        f"--seconds={seconds}",
        f"--warmup-seconds={args.warmup_seconds}",
        f"--id-base={id_base}",
        f"--out={out_path}",
    ]
    try:
        subprocess.run(argv, check=True, timeout=seconds + args.warmup_seconds + 180)
        result: dict[str, Any] = json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)
    result["target"] = target.name
    result["target_processes"] = target.processes
    return result
