"""What the commands share: :func:`fail`, an error as one line and exit code 1; and for the two
commands that talk to the Hub (``ingest hub``, ``ingest archive``), the options of the Hub
connection and of the retry layer, the token, and how a run ends on an error or Ctrl-C. One
definition, so the commands say and do the same thing.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable

import click

from ..errors import AtomdataError
from ..ingest.client import default_endpoint


def fail(exc: Exception) -> None:
    """End the command with ``exc`` as a one-line error (exit code 1)."""
    raise click.ClickException(str(exc))


def hub_options(f):
    """``--token-env NAME`` and ``--endpoint URL``."""
    f = click.option("--endpoint", default=default_endpoint, show_default="$HF_ENDPOINT or https://huggingface.co",
                     help="Hub endpoint.")(f)
    return click.option("--token-env", metavar="NAME", help="Read the Hub token from this environment variable "
                        "(default: HF_TOKEN or the `hf auth login` token, if any).")(f)


def retry_options(per: str):
    """``--retries`` (per ``per``: a page, a request), ``--backoff`` and ``--max-retry-after``."""
    def decorate(f):
        f = click.option("--max-retry-after", default=900.0, show_default=True, type=click.FloatRange(0, None),
                         help="Stop (resumably) when the Hub asks to wait longer than this many seconds.")(f)
        f = click.option("--backoff", default=1.0, show_default=True, type=click.FloatRange(0, None),
                         help="First retry wait in seconds (doubles each retry, at most 60 s); Retry-After is honoured.")(f)
        return click.option("--retries", default=8, show_default=True, type=click.IntRange(0, 50),
                            help=f"Retries per {per}.")(f)
    return decorate


def token_from(token_env: str | None) -> str | None:
    """The token in the environment variable ``--token-env`` names; None without the option
    (huggingface_hub then finds ``HF_TOKEN`` or the login token)."""
    if not token_env:
        return None
    token = os.environ.get(token_env)
    if not token:
        raise click.UsageError(f"--token-env: environment variable {token_env} is not set or empty")
    return token


@contextlib.contextmanager
def ending(bar, interrupted: str, scrub: Callable[[str], str] = str):
    """The work of a command: the progress ``bar`` is closed however it ends; Ctrl-C says what is
    kept (``interrupted``) and exits 130; an :class:`AtomdataError` is one line (``scrub``: of
    the token) and exit code 1."""
    try:
        yield
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"\ninterrupted: {interrupted}", err=True)
        sys.exit(130)
    except AtomdataError as exc:
        bar.close()
        raise click.ClickException(scrub(str(exc))) from None
    bar.close()
