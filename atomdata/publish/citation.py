"""How to cite one data release: in words, as BibTeX, and as the release's CITATION.cff.

A release is identified by its data version (CalVer ``YYYY.MM.DD``: the date of its newest
snapshot). That date is also its release date: a release is deterministic and carries no build
date, so the only date that names its contents is the data's own. The project's CITATION.cff is
the template; a release's copy states that release's data version, date and code version.
"""
from __future__ import annotations

import re

from ..version import code_version
from ..vocab import AUTHOR, CODE_LICENSE, DATA_LICENSE, DATA_LICENSE_URL, TITLE, URL  # noqa: F401  (the release reads them here)
VERSION_RE = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})$")


def release_date(version: str) -> str | None:
    """``2026.08.03`` -> ``2026-08-03``; None for a version that is not a CalVer date."""
    m = VERSION_RE.match(str(version))
    return "-".join(m.groups()) if m else None


def zip_name(version: str) -> str:
    return f"atomdata-{version}.zip"


def citation(version: str) -> str:
    """The reference in words (Markdown)."""
    date = release_date(version)
    year = date[:4] if date else "n.d."
    released = f", released {date}" if date else ""
    return (f"{AUTHOR} ({year}). *{TITLE}* (data version {version}{released}; `{zip_name(version)}`, "
            f"built with atomdata-hub {code_version()}) [Data set]. Licensed {DATA_LICENSE}. {URL}")


def bibtex(version: str) -> str:
    date = release_date(version)
    key = "atomdata_" + re.sub(r"[^0-9A-Za-z]+", "_", str(version))
    fields = [("author", "{" + AUTHOR + "}"), ("title", "{" + TITLE + "}"),
              ("version", str(version)), ("howpublished", zip_name(version)),
              ("note", f"Data set, atomdata-hub {code_version()}; licensed {DATA_LICENSE}"), ("url", URL)]
    if date:
        fields[2:2] = [("year", date[:4]), ("month", date[5:7]), ("date", date)]
    return "@misc{" + key + ",\n" + ",\n".join(f"  {k} = {{{v}}}" for k, v in fields) + "\n}"


def release_notes(version: str) -> str:
    """The ``notes`` of the preferred citation: which release, and what to cite."""
    date = release_date(version)
    released = f", released {date}" if date else ""
    return (f"Data version {version}{released} as {zip_name(version)}, built with atomdata-hub "
            f"{code_version()}. Cite the data version you used; a later release has a later data version.")


def citation_cff(template: str, version: str) -> str:
    """The project's CITATION.cff (``template``) for the release of data version ``version``: the
    preferred citation's version, date and notes, and the code version, are this release's."""
    import yaml

    cff = yaml.safe_load(template)
    cff["version"] = code_version()
    pref = cff.setdefault("preferred-citation", {})
    pref["version"] = str(version)
    date = release_date(version)
    if date:
        pref["date-released"] = date
    else:
        pref.pop("date-released", None)
    pref["notes"] = release_notes(version)
    return yaml.safe_dump(cff, sort_keys=False, allow_unicode=True, width=88)
