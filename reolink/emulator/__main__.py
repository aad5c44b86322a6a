"""``python -m reolink.emulator``: run an emulated device until SIGINT/SIGTERM."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
