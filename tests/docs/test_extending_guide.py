"""Every plugin in docs/guides/extending.md works as written.

The page's titled code blocks are written into a folder as files; the
``pyproject.toml`` blocks' entry points are registered in a real
distribution's metadata on ``sys.path``; each ``try_*.py`` runs as a
subprocess and must print the page's ``output`` block of its section.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "extending.md"
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def sections() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The page's ``##`` sections and their titled blocks (language, title, text)."""
    out = []
    for chunk in GUIDE.read_text().split("\n## ")[1:]:
        heading = chunk.splitlines()[0]
        out.append((heading, [(m[1], m[2], m[3]) for m in BLOCK.finditer(chunk)]))
    return out


@pytest.fixture(scope="module")
def plugin_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file of the page, and a distribution registering its entry points."""
    folder = tmp_path_factory.mktemp("extending")
    groups: dict[str, dict[str, str]] = {}
    for _, blocks in sections():
        for _language, title, text in blocks:
            if title == "pyproject.toml":
                for group, points in tomllib.loads(text)["project"]["entry-points"].items():
                    groups.setdefault(group, {}).update(points)
            elif title != "output":
                path = folder / title
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    dist = folder / "site" / "guide_plugins-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: guide-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "\n".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
            for group, points in groups.items()
        )
    )
    return folder


def runs() -> list[tuple[str, str, str]]:
    """(section, program, expected output) for every ``try_*.py`` of the page."""
    out = []
    for heading, blocks in sections():
        programs = [title for _, title, _ in blocks if title.startswith("try_")]
        outputs = [text for _, title, text in blocks if title == "output"]
        assert len(programs) == len(outputs) == 1, f"section {heading!r}: one program, one output"
        out.append((heading, programs[0], outputs[0]))
    return out


def test_every_kind_of_plugin_has_a_section() -> None:
    assert [h for h, _, _ in runs()] == [
        "A provider",
        "A stage",
        "An embedding model",
        "A session store",
        "A vector store",
    ]


#: Runs a program as written, with anyio.run choosing ``backend``.
LAUNCH = (
    "import functools, runpy, sys, anyio; "
    "anyio.run = functools.partial(anyio.run, backend=sys.argv[2]); "
    "runpy.run_path(sys.argv[1], run_name='__main__')"
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize(("section", "program", "expected"), runs(), ids=[r[0] for r in runs()])
def test_the_guides_plugin_runs_as_written(
    plugin_folder: Path, section: str, program: str, expected: str, backend: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env["HOME"] = str(plugin_folder)  # no user config file, sessions beside the test
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_folder), str(plugin_folder / "site")])
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, program, backend],
        cwd=plugin_folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == expected
    (plugin_folder / "audit.jsonl").unlink(missing_ok=True)  # the stage section appends to it
