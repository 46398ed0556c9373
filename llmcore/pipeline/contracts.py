"""Stage contracts: what each stage reads from the Turn and provides, checked at load.

A stage declares ``reads`` (what it needs), ``optional_reads`` (what it
uses when some stage provides it) and ``provides`` as class attributes
(tuples of Turn field names). A pipeline whose order breaks them fails when
it loads,
with a :class:`~llmcore.exceptions.PipelineError` naming both stages: a
stage that reads what only a later stage provides (``truncate`` before
``select_history`` would quietly drop the retrieved documents), or that
reads what no stage provides. Stages that declare nothing are not checked,
and since they may provide anything, a "nothing provides it" error is only
raised when no such stage runs before the reader.

A wrapping stage's reads are satisfied by the stages it wraps too: the code
after ``call_next`` runs once they are done.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmcore.exceptions import PipelineError

__all__ = ["check_contracts"]


def _declared(stage: object, attribute: str) -> tuple[str, ...] | None:
    value = getattr(stage, attribute, None)
    return None if value is None else tuple(value)


def check_contracts(
    definition: str, stages: Sequence[tuple[str, object]], wrapping: Sequence[bool]
) -> None:
    """Raise if the order of ``stages`` breaks a declared contract.

    Raises:
        PipelineError: naming the stage that reads, the field, and the stage
            that provides it (or that none does).
    """
    provides = [_declared(stage, "provides") for _, stage in stages]
    for index, (name, stage) in enumerate(stages):
        required = _declared(stage, "reads") or ()
        optional = _declared(stage, "optional_reads") or ()
        for field in (*required, *optional):
            before = [j for j in range(index) if field in (provides[j] or ())]
            if before:
                continue
            after = [j for j in range(index + 1, len(stages)) if field in (provides[j] or ())]
            if after and wrapping[index]:
                continue  # read after call_next, once the wrapped stages provided it
            if after:
                provider = stages[after[0]][0]
                raise PipelineError(
                    f"Pipeline {definition!r}: stage {name!r} reads turn.{field}, which stage "
                    f"{provider!r} provides, but {name!r} runs first. Move {name!r} after "
                    f"{provider!r} (with [[move]], or 'after = \"{provider}\"' when inserting "
                    "it).",
                    stage=name,
                    definition=definition,
                )
            if field not in required or any(provides[j] is None for j in range(index)):
                continue  # optional, or an undeclared stage before it may provide it
            raise PipelineError(
                f"Pipeline {definition!r}: stage {name!r} reads turn.{field}, which no stage "
                "of the pipeline provides. Add the stage that does (see 'llmchat pipeline "
                "show default'), or declare it in a custom stage's 'provides'.",
                stage=name,
                definition=definition,
            )
