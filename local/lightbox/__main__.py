"""`python -m lightbox ...` is the `lightbox` command."""

from __future__ import annotations

import sys

from lightbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
