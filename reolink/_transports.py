"""Finding *our* ``transports`` package, and saying so clearly when another one answers.

The public package index has an unrelated project whose distribution is called ``transports``
and installs a top-level ``transports/`` too; pip does not warn when both are installed, and
whichever was installed last wins. Our ``transports`` carries a marker
(``__reolink_transports__``, the interface version); the driver checks it the first time it
needs a transport, so a clash is one clear :class:`~reolink.errors.PackageClashError` naming both
and the fix, never an ``AttributeError`` from deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import PackageClashError

__all__ = ["DISTRIBUTION", "TRANSPORTS_API", "load_transports"]

#: The name this project is installed under (``pip install reolink-lan-driver``).
DISTRIBUTION = "reolink-lan-driver"
#: The interface version our ``transports/__init__.py`` declares as ``__reolink_transports__``.
TRANSPORTS_API = 1


def load_transports() -> ModuleType:
    """Import ``transports`` and check that it is ours; raises PackageClashError otherwise."""
    try:
        module = importlib.import_module("transports")
    except ImportError as error:
        raise PackageClashError(
            f"the module 'transports' that {DISTRIBUTION} installs cannot be imported "
            f"({error}): reinstall it (pip install --force-reinstall {DISTRIBUTION})"
        ) from error
    if getattr(module, "__reolink_transports__", None) != TRANSPORTS_API:
        where = getattr(module, "__file__", None) or "an unknown location"
        raise PackageClashError(
            f"the module 'transports' imported from {where} is another package of that name, "
            f"not the one {DISTRIBUTION} installs (both install a top-level 'transports'): "
            f"uninstall the other one (pip uninstall transports), then reinstall this one "
            f"(pip install --force-reinstall {DISTRIBUTION})"
        )
    return module
