"""The source overlay: the text an editor holds for each open document wins over the disk.

The loader reads every template through `read_text`, so a compilation started by the language
server sees unsaved edits in every file it reaches (the experiment, its parents, included
sub-templates), and a closed document falls back to the file on disk. A check reads a
`Snapshot`: the open documents as they were when it started, so that the editor's changes while
it runs (on another thread) never mix two versions of a file into one compilation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from ..loader import read_disk_text


@dataclass(frozen=True)
class OpenDocument:
    path: str  # absolute
    text: str
    version: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """The open documents at one moment; everything else is read from the disk."""

    documents: Mapping[str, OpenDocument]

    def read_text(self, path: str) -> str:
        """The editor's text of an open document, else the file's (OSError when unreadable)."""
        doc = self.documents.get(os.path.abspath(path))
        if doc is not None:
            return doc.text
        return read_disk_text(path)

    def version(self, path: str) -> int | None:
        doc = self.documents.get(os.path.abspath(path))
        return doc.version if doc is not None else None

    def is_open(self, path: str) -> bool:
        return os.path.abspath(path) in self.documents


class SourceOverlay:
    """Open documents by absolute path. Changed by the language server's event loop only; a
    check reads a `snapshot()` of it."""

    def __init__(self) -> None:
        self._documents: dict[str, OpenDocument] = {}

    def open(self, path: str, text: str, version: int | None = None) -> None:
        key = os.path.abspath(path)
        self._documents[key] = OpenDocument(key, text, version)

    def change(self, path: str, text: str, version: int | None = None) -> None:
        self.open(path, text, version)

    def close(self, path: str) -> None:
        self._documents.pop(os.path.abspath(path), None)

    def is_open(self, path: str) -> bool:
        return os.path.abspath(path) in self._documents

    def document(self, path: str) -> OpenDocument | None:
        return self._documents.get(os.path.abspath(path))

    def version(self, path: str) -> int | None:
        doc = self.document(path)
        return doc.version if doc is not None else None

    def open_paths(self) -> list[str]:
        return list(self._documents)

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self._documents))

    def read_text(self, path: str) -> str:
        """The editor's text of an open document, else the file's (OSError when unreadable)."""
        doc = self._documents.get(os.path.abspath(path))
        if doc is not None:
            return doc.text
        return read_disk_text(path)
