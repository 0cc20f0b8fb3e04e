"""One benchmark's own section of docs/benchmarks.md, kept whoever writes the rest of the file.

tests/perf/conftest.py writes the file from its tables when the session ends, replacing it
whole; a benchmark with its own section calls `section_write(config, title, text)`: the section
is written at once (a run of that benchmark alone leaves the rest of the file as it was) and
again when the session finishes, after the conftest has written the file.
"""

from pathlib import Path

import pytest

from tests.perf.conftest import BENCHMARKS_MD


def section_replace(document: str, title: str, text: str) -> str:
    """`document` with its `## title` section (up to the next `## ` heading) replaced by
    `text`, or with `text` added at the end."""
    heading = f"## {title}"
    lines = document.rstrip("\n").split("\n") if document.strip() else ["# Benchmarks"]
    body = [heading, "", *text.strip("\n").split("\n")]
    if heading in lines:
        start = lines.index(heading)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = [*body, ""] if end < len(lines) else body
    else:
        lines += ["", *body]
    return "\n".join(lines) + "\n"


class _Rewrite:
    def __init__(self, path: Path, title: str, text: str):
        self.path, self.title, self.text = path, title, text

    def write(self) -> None:
        document = self.path.read_text() if self.path.exists() else ""
        self.path.write_text(section_replace(document, self.title, self.text))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        self.write()


def section_write(config: pytest.Config, title: str, text: str, path: Path = BENCHMARKS_MD):
    rewrite = _Rewrite(path, title, text)
    rewrite.write()
    name = f"benchmarks-section-{title}"
    if config.pluginmanager.has_plugin(name):
        config.pluginmanager.unregister(name=name)
    config.pluginmanager.register(rewrite, name)
