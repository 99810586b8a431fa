"""Type checks of the Python API's arguments, with the same kind of message as the CLI's.

``measure(df, income=0)`` must say which argument is wrong, what it got and what to write instead,
not fail deep inside with ``'int' object is not iterable``. The checks are for the *type* of an
argument (a column name is a string, a list of measures is strings, a level is a number); the
values themselves are validated where they are used.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .errors import ProsperityInputError


class ArgumentTypeError(ProsperityInputError, TypeError):
    """An argument of the wrong type (also a :class:`TypeError`)."""


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def column_name(function: str, name: str, value, *, optional: bool = True, example: str = "'income'") -> None:
    """``value`` must be a column name (a string), or None when ``optional``."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{function}({name}={_shown(value)}): {name} must be the name of a column "
                                f"(a string), got {type(value).__name__}", hint=f"write {name}={example}")


def column_names(function: str, name: str, value, *, example: str = "'region'") -> None:
    """``value``: None, one column name, or a list/tuple of column names."""
    if value is None or isinstance(value, str):
        return
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return
    bad = [v for v in value if not isinstance(v, str)] if isinstance(value, Sequence) else [value]
    raise ArgumentTypeError(f"{function}({name}={_shown(value)}): {name} must be a column name or a list of "
                            f"column names (strings); {_shown(bad[0])} is of type {type(bad[0]).__name__}",
                            hint=f"write {name}={example} or {name}=[{example}, ...]")


def measure_names(function: str, name: str, value) -> None:
    """``value``: one measure name (``"gini"``, ``"atkinson:0.5"``) or a list of them."""
    if isinstance(value, str):
        return
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return
    raise ArgumentTypeError(f"{function}({name}={_shown(value)}): {name} must be a measure name or a non-empty "
                            "list of names (strings)", hint=f"write {name}=['gini', 'atkinson:0.5', 'fgt:0']")


def number(function: str, name: str, value, *, optional: bool = True, integer: bool = False, example: str = "0.6") -> None:
    """``value`` must be a real number (an integer when ``integer``), or None when ``optional``;
    booleans are refused (``True`` is not a level)."""
    if value is None and optional:
        return
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        what = "a whole number" if integer else "a number"
        raise ArgumentTypeError(f"{function}({name}={_shown(value)}): {name} must be {what}, got "
                                f"{type(value).__name__}", hint=f"write {name}={example}")


def flag(function: str, name: str, value) -> None:
    """``value`` must be True or False (a string "no" would be true)."""
    if not isinstance(value, (bool, np.bool_)) and not (isinstance(value, numbers.Integral) and value in (0, 1)):
        raise ArgumentTypeError(f"{function}({name}={_shown(value)}): {name} must be True or False, got "
                                f"{type(value).__name__}", hint=f"write {name}=True or {name}=False")
