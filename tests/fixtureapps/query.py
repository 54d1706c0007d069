"""Read small integer and text parameters from a request's query string."""

from typing import Dict
from urllib.parse import parse_qsl


def params(environ: dict) -> Dict[str, str]:
    """The query string as a dict (last value wins)."""
    return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def int_param(environ: dict, name: str, default: int) -> int:
    value = params(environ).get(name)
    return default if value is None else int(value)
