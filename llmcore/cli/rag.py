"""``llmchat rag``: add files to a vector collection, search it, delete from it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmcore.cli._common import console, echo_json, json_option, open_llm, run, table

if TYPE_CHECKING:
    from llmcore.api import LLMCore
    from llmcore.cli.chunking import Chunk

__all__ = ["rag_group"]

collection_option = click.option(
    "-c",
    "--collection",
    help="The collection (default: storage.vector.default_collection).",
)


@click.group("rag")
def rag_group() -> None:
    """Add documents for retrieval (RAG), search them, delete them."""


@rag_group.command("add")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@collection_option
@click.option(
    "--chunk-size",
    type=click.IntRange(min=50),
    default=1000,
    show_default=True,
    help="Characters per chunk at most.",
)
@click.option(
    "--chunk-overlap",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Characters consecutive chunks share.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Chunks embedded and stored per call.",
)
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    paths: tuple[str, ...],
    collection: str | None,
    chunk_size: int,
    chunk_overlap: int,
    batch_size: int,
    as_json: bool,
) -> None:
    """Add files, folders (recursively) and globs ('docs/**/*.md') to a collection.

    Text, Markdown and code files are cut into overlapping chunks; each
    chunk's id is ``<path>#<n>``, so adding a file again replaces it.
    """
    from llmcore.cli.chunking import find_files

    if chunk_overlap >= chunk_size:
        raise click.BadParameter(
            f"must be less than --chunk-size ({chunk_size}).", param_hint="--chunk-overlap"
        )
    files, missing = find_files(list(paths))
    if missing:
        raise click.BadParameter(
            f"{', '.join(map(repr, missing))} matched no text, Markdown or code file.",
            param_hint="PATH",
        )
    progress = _Done()
    try:
        report = run(_add, ctx, files, collection, chunk_size, chunk_overlap, batch_size, progress)
    except KeyboardInterrupt:
        # Chunk ids are <path>#<n>: running the command again replaces, never doubles.
        click.echo(
            f"Stopped: at least {progress.chunks} chunks from {progress.files} of {len(files)} "
            f"files were added to {progress.collection or 'the collection'}. Run the same "
            "command again to add the rest (what is there already is replaced, not doubled).",
            err=True,
        )
        ctx.exit(130)
    if as_json:
        echo_json(report)
        return
    seconds = report["seconds"]
    files_rate = report["files"] / seconds if seconds else 0.0
    chunks_rate = report["chunks"] / seconds if seconds else 0.0
    click.echo(
        f"Added {report['chunks']} chunks from {report['files']} files to "
        f"{report['collection']} in {seconds:.1f} s ({files_rate:.1f} files/s, "
        f"{chunks_rate:.1f} chunks/s)."
    )
    for skipped in report["skipped"]:
        click.echo(f"Skipped {skipped['path']}: {skipped['reason']}", err=True)


class _Done:
    """What ``rag add`` has stored so far, for the message after Ctrl-C."""

    collection = ""
    chunks = 0
    files = 0


async def _add(
    ctx: click.Context,
    files: list[Path],
    collection: str | None,
    size: int,
    overlap: int,
    batch_size: int,
    done: _Done,
) -> dict[str, Any]:
    from llmcore.cli.chunking import chunk_file

    started = time.perf_counter()
    skipped: list[dict[str, str]] = []
    ids: list[str] = []
    async with open_llm(ctx) as llm:
        name = done.collection = collection or llm.config.storage.vector.default_collection
        with _progress(len(files)) as advance:
            batch: list[Chunk] = []
            done_in_batch = 0
            for path in files:
                try:
                    chunks = chunk_file(path, size, overlap)
                except UnicodeDecodeError:
                    skipped.append({"path": str(path), "reason": "not UTF-8 text"})
                    advance(1)
                    continue
                except OSError as exc:
                    skipped.append({"path": str(path), "reason": exc.strerror or str(exc)})
                    advance(1)
                    continue
                for chunk in chunks:
                    batch.append(chunk)
                    if len(batch) == batch_size:
                        ids += await _store(llm, batch, name)
                        batch = []
                        advance(done_in_batch)
                        done.chunks, done.files = len(ids), done.files + done_in_batch
                        done_in_batch = 0
                done_in_batch += 1
            if batch:
                ids += await _store(llm, batch, name)
            advance(done_in_batch)
            done.chunks, done.files = len(ids), done.files + done_in_batch
    return {
        "collection": name,
        "files": len(files) - len(skipped),
        "chunks": len(ids),
        "ids": ids,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }


async def _store(llm: LLMCore, batch: list[Chunk], collection: str) -> list[str]:
    documents = [{"id": c.id, "content": c.content, "metadata": c.metadata} for c in batch]
    return list(await llm.add_documents_to_vector_store(documents, collection_name=collection))


class _progress:
    """A Rich progress bar on stderr (files, files/s), silent when not a terminal."""

    def __init__(self, total: int):
        self.total = total
        self._progress: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            "[cyan]{task.fields[rate]}",
            TimeElapsedColumn(),
            console=console(stderr=True),
        )
        self._progress.start()
        task = self._progress.add_task("Adding", total=self.total, rate="")

        def advance(n: int) -> None:
            self._progress.advance(task, n)
            speed = self._progress.tasks[0].speed
            self._progress.update(task, rate=f"{speed:.1f} files/s" if speed else "")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


@rag_group.command("search")
@click.argument("query")
@collection_option
@click.option("-k", type=click.IntRange(min=1), default=5, show_default=True, help="Results.")
@json_option
@click.pass_context
def search(ctx: click.Context, query: str, collection: str | None, k: int, as_json: bool) -> None:
    """Show the K chunks of a collection most similar to QUERY."""

    async def body() -> list[Any]:
        async with open_llm(ctx) as llm:
            return list(await llm.search_vector_store(query, k=k, collection_name=collection))

    documents = run(body)
    if as_json:
        echo_json(
            [
                {"id": d.id, "score": d.score, "content": d.content, "metadata": d.metadata}
                for d in documents
            ]
        )
        return
    if not documents:
        click.echo("No documents found.")
        return
    from rich.markup import escape

    con = console()
    for i, doc in enumerate(documents, 1):
        score = f"{doc.score:.3f}" if doc.score is not None else "-"
        source = doc.metadata.get("source", doc.id)
        con.print(f"[bold]{i}.[/bold] [cyan]{escape(str(source))}[/cyan] [dim]score {score}[/dim]")
        con.print(escape(" ".join(doc.content.split())[:300]))


@rag_group.command("delete")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@collection_option
@click.option("--all", "everything", is_flag=True, help="Delete the whole collection.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (with --all).")
@click.pass_context
def delete(
    ctx: click.Context, ids: tuple[str, ...], collection: str | None, everything: bool, yes: bool
) -> None:
    """Delete documents by ID, or the whole collection with --all."""
    if everything == bool(ids):
        raise click.UsageError("Give document IDs to delete, or --all for the whole collection.")
    if everything and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("Pass --yes to delete a collection without a terminal.")
        click.confirm(f"Delete the collection {collection or '(default)'}?", abort=True)

    async def body() -> str:
        async with open_llm(ctx) as llm:
            name = collection or llm.config.storage.vector.default_collection
            if everything:
                if not await llm.delete_collection(name):
                    raise click.ClickException(
                        f"There is no collection {name!r}; see llmchat rag collections."
                    )
                return f"Deleted the collection {name}."
            if not await llm.delete_documents_from_vector_store(list(ids), collection_name=name):
                raise click.ClickException(
                    f"None of those ids is in {name!r}; llmchat rag search shows documents' ids."
                )
            return f"Deleted the documents from {name}."

    click.echo(run(body))


@rag_group.command("collections")
@json_option
@click.pass_context
def collections(ctx: click.Context, as_json: bool) -> None:
    """List the vector store's collections."""

    async def body() -> list[Any]:
        async with open_llm(ctx) as llm:
            return list(await llm.list_collections())

    infos = run(body)
    if as_json:
        echo_json(infos)
        return
    if not infos:
        click.echo("No collections yet. Add documents with: llmchat rag add PATH")
        return

    grid = table("Name", "Documents", "Embedding model", "Dimension")
    for info in infos:
        grid.add_row(
            info.name, str(info.count), info.embedding_model or "-", str(info.dimension or "-")
        )
    console().print(grid)
