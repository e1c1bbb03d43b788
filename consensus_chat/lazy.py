"""Names a package exports without importing them first: the one module `__getattr__` every `__init__` uses."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, homes: dict[str, str]):
    """A module `__getattr__` for `package`: a name in `homes` is read from its home module (absolute, or relative
    to the package), which is imported on first use; any other name is an AttributeError."""

    def __getattr__(name: str):
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home, package), name)

    return __getattr__
