"""Local text sources: files, folders and JSON-lines, read into a list of documents (strings).

Every failure names the file (and line for JSON-lines) it comes from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Union

from ..run_inputs import note_file

PathLike = Union[str, os.PathLike]


class DataError(ValueError):
    """A bad data source; the message starts with the file (and line) at fault."""


def read_text_file(path: PathLike, *, encoding: str = "utf-8") -> str:
    """The whole content of one text file."""
    path = Path(path)
    try:
        text = path.read_text(encoding=encoding)
        note_file(path)  # for the run record: what the run read
        return text
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a text file") from None
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path}: byte {e.start}: cannot decode as {encoding} ({e.reason}); "
            "pass encoding=... for another encoding"
        ) from None


def read_jsonl(path: PathLike, *, field: str = "text", encoding: str = "utf-8") -> list[str]:
    """Documents from a JSON-lines file: the string ``field`` of each object; blank lines are skipped."""
    path = Path(path)
    documents = []
    for lineno, line in enumerate(read_text_file(path, encoding=encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}:{lineno}: expected a JSON object with a {field!r} field, got {type(record).__name__}"
            )
        if field not in record:
            keys = ", ".join(sorted(record)) or "none"
            raise DataError(f"{path}:{lineno}: no field {field!r} (fields: {keys})")
        value = record[field]
        if not isinstance(value, str):
            raise DataError(
                f"{path}:{lineno}: field {field!r} is a {type(value).__name__}, expected a string"
            )
        documents.append(value)
    return documents


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def list_files(folder: PathLike, pattern: str = "*.txt", *, recursive: bool = True) -> list[Path]:
    """Files under ``folder`` matching ``pattern``, sorted by relative path (stable across machines)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such directory")
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    return sorted((p for p in found if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


def read_documents(
    source: PathLike | Iterable[PathLike],
    *,
    pattern: str = "*.txt",
    field: str = "text",
    recursive: bool = True,
    encoding: str = "utf-8",
) -> list[str]:
    """Documents from a file, a folder or a list of them.

    A ``.jsonl`` file gives one document per line (its ``field``); any other file is one document;
    a folder gives the files matching ``pattern`` (sorted), read by the same two rules.
    """
    if isinstance(source, (str, os.PathLike)):
        sources: list[PathLike] = [source]
    else:
        sources = list(source)
    documents: list[str] = []
    for item in sources:
        path = Path(item)
        if path.is_dir():
            files = list_files(path, pattern, recursive=recursive)
            if not files:
                raise DataError(f"{path}: no files match {pattern!r}")
        elif path.exists():
            files = [path]
        else:
            raise DataError(f"{path}: no such file or directory")
        for file in files:
            if _is_jsonl(file):
                documents.extend(read_jsonl(file, field=field, encoding=encoding))
            else:
                documents.append(read_text_file(file, encoding=encoding))
    return documents


def as_documents(data: Any, *, field: str = "text") -> list[str]:
    """Normalise any supported document source to a list of strings.

    Accepts a path or a list of paths (see `read_documents`), a list of strings, or a Hugging Face
    ``datasets.Dataset`` / ``IterableDataset`` (or any iterable of mappings) with a text ``field``.
    """
    if isinstance(data, (str, os.PathLike)):
        return read_documents(data, field=field)
    column_names = getattr(data, "column_names", None)
    if column_names is not None and hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        # A map-style datasets.Dataset: read the column at once.
        if field not in column_names:
            raise DataError(f"dataset has no column {field!r} (columns: {', '.join(column_names)})")
        return list(data[field])
    documents = []
    for index, item in enumerate(data):
        if isinstance(item, str):
            documents.append(item)
        elif isinstance(item, os.PathLike):
            documents.extend(read_documents(item, field=field))
        elif isinstance(item, dict):
            if field not in item:
                raise DataError(f"record {index}: no field {field!r} (fields: {', '.join(item)})")
            documents.append(item[field])
        else:
            raise DataError(
                f"record {index}: expected a string, a path or a mapping with {field!r}, "
                f"got {type(item).__name__}"
            )
    return documents
