"""Command-line values shared by the benchmarks: ``NAME=VALUE`` rows."""

from __future__ import annotations

import re

from galvision.errors import ConfigError

NAME = re.compile(r"[\w.-]+")  # a row name is also the folder of its runs


def named_values(values: list[str], option: str, what: str = "VALUE") -> dict[str, str]:
    """``["a=x", "b=y"]`` -> ``{"a": "x", "b": "y"}`` in order, or one line naming the bad one."""
    named: dict[str, str] = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator or not NAME.fullmatch(name) or not text:
            raise ConfigError(
                f"{option} {value}: expected NAME={what}, NAME made of letters, digits, "
                "'_', '.' and '-'"
            )
        if name in named:
            raise ConfigError(f"{option} {value}: the name {name!r} is already a row")
        named[name] = text
    return named
