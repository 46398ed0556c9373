"""A loud failure for an async method called without ``await``.

The specification calls ``llm.list_sessions()``, ``llm.get_session(id)``,
``llm.delete_session(id)`` and ``llm.get_models_for_provider(name)`` without
``await``; in llmcore they are async. A plain coroutine used by mistake
prints as ``<coroutine object ...>``, is always true (``if
llm.delete_session(id):`` passes and deletes nothing) and fails later with
``'coroutine' object has no attribute 'messages'``.

:func:`must_await` makes such a method return a :class:`PendingCall`: a
real coroutine in every way the event loops use one (``await``, and the
``send``/``throw``/``close`` protocol asyncio's ``create_task`` and trio's
``start_soon`` drive, both of which accept any ``collections.abc.Coroutine``),
whose every other use (truth test, iteration, ``len``, indexing, attribute
access, ``str``/``repr``) raises :class:`NotAwaitedError` naming the method
and saying ``await llm.list_sessions()``. The coroutine inside is closed
first, so Python adds no "coroutine ... was never awaited" warning to the
error; a call whose result is simply dropped still gets Python's own
warning. Awaiting costs one small object and one extra call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any, NoReturn, ParamSpec, TypeVar

__all__ = ["NotAwaitedError", "PendingCall", "must_await"]

P = ParamSpec("P")
T = TypeVar("T")


class NotAwaitedError(TypeError):
    """The result of an async llmcore method was used without ``await``."""


class PendingCall(Coroutine[Any, Any, T]):
    """The coroutine of an llmcore async method, refusing to be used un-awaited."""

    __slots__ = ("_call", "_coro")

    def __init__(self, coro: Coroutine[Any, Any, T], call: str):
        self._coro = coro
        self._call = call

    # -- what the event loops use -------------------------------------------

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()

    def send(self, value: Any) -> Any:
        """Advance the coroutine (as ``coroutine.send``)."""
        return self._coro.send(value)

    def throw(self, *args: Any) -> Any:
        """Raise in the coroutine (as ``coroutine.throw``)."""
        return self._coro.throw(*args)

    def close(self) -> None:
        """Close the coroutine (as ``coroutine.close``)."""
        self._coro.close()

    # -- every other use is a missing await ---------------------------------

    def _misused(self, how: str) -> NoReturn:
        self._coro.close()  # never started: no "never awaited" warning on top of the error
        raise NotAwaitedError(
            f"{self._call} was not awaited: its result was used as {how}. It is an async "
            f"method: write `await {self._call}` inside an async function."
        )

    def __bool__(self) -> bool:
        self._misused("a truth value (if, while, and, or, not)")

    def __len__(self) -> int:
        self._misused("len()")

    def __iter__(self) -> Iterator[Any]:
        self._misused("an iterable (for, list(), unpacking)")

    def __aiter__(self) -> Any:
        self._misused("an async iterable (async for)")

    def __contains__(self, item: object) -> bool:
        self._misused("a container (in)")

    def __getitem__(self, key: Any) -> Any:
        self._misused(f"a sequence or mapping ([{key!r}])")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("cr_"):  # trio and asyncio read cr_frame, cr_suspended...
            return getattr(self._coro, name)
        if name.startswith("_"):  # protocol probes (__array__, _repr_html_...) stay probes
            raise AttributeError(name)
        self._misused(f"an object with the attribute .{name}")

    def __str__(self) -> str:
        self._misused("a string (print, str(), f-string)")

    def __repr__(self) -> str:
        self._misused("a value to show (repr)")


def must_await(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Make the async method ``fn`` return a :class:`PendingCall`."""
    required = [
        p.name
        for p in list(inspect.signature(fn).parameters.values())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    call = f"llm.{fn.__name__}({', '.join(required)})"

    @functools.wraps(fn)
    def method(*args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        return PendingCall(fn(*args, **kwargs), call)

    mark = getattr(inspect, "markcoroutinefunction", None)  # Python 3.12+
    return mark(method) if mark is not None else method
