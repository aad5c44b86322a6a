"""``python -m reolink.cli``: the ``reolink`` command line."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
