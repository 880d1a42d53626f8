"""``python -m devstack up [DATA_DIR]`` starts the embedded stack (default data: ./.data)."""

from __future__ import annotations

import sys
from pathlib import Path

from .stack import up


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] != "up":
        print("usage: python -m devstack up [DATA_DIR]", file=sys.stderr)
        return 2
    data_dir = Path(args[1] if len(args) > 1 else ".data").resolve()
    return up(data_dir)


if __name__ == "__main__":
    sys.exit(main())
