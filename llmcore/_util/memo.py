"""Memoising a function of one object by that object's identity."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["PerObject", "per_object"]

_T = TypeVar("_T")
_LIMIT = 256


class PerObject(Generic[_T]):
    """A function memoised per argument object; see :func:`per_object`."""

    def __init__(self, fn: Callable[[Any], _T]):
        self._fn = fn
        self._done: dict[int, tuple[Any, _T]] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, arg: Any) -> _T:
        hit = self._done.get(id(arg))
        if hit is not None and hit[0] is arg:
            return hit[1]
        result = self._fn(arg)
        if len(self._done) >= _LIMIT:
            self._done.clear()
        self._done[id(arg)] = (arg, result)
        return result

    def cache_clear(self) -> None:
        """Forget every result."""
        self._done.clear()


def per_object(fn: Callable[[Any], _T]) -> PerObject[_T]:
    """``fn`` memoised per argument object (by identity, for unhashable values).

    For arguments built once and reused, such as an output type's schema
    (:func:`llmcore.output.output_spec` caches it): every call with the same
    object reuses the result. The argument is kept with its result, so its
    ``id`` cannot be taken by another object while cached; at most 256 are.
    Callers must not change the argument or the result.
    """
    return PerObject(fn)
