"""atomdata: who builds the open AI models the world uses, by country, month by month.

    >>> import atomdata
    >>> atomdata.tables()                       # names and one-line descriptions
    >>> atomdata.load("downloads_by_country")   # a typed pandas DataFrame

Importing atomdata is cheap: pandas is loaded on first use, matplotlib, frictionless and
huggingface_hub only by the commands that need them.
"""
from __future__ import annotations

__all__ = ["__version__", "load", "tables", "package", "data_version"]


def __dir__():
    return sorted(list(globals()) + ["__version__", "load", "tables", "package", "data_version"])


def __getattr__(name):
    if name == "__version__":  # from the distribution's metadata (atomdata.version), read on first use
        from .version import code_version

        return code_version()
    if name in ("load", "tables", "package", "data_version"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'atomdata' has no attribute {name!r}")
