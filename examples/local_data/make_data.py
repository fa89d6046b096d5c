"""Write the example's "own data": the docstrings of the Python standard library, as a user's
text folder and as JSON-lines files (nothing is downloaded: the sources are on every machine,
and they are read with `ast`, never imported).

    python examples/local_data/make_data.py [OUT]      (default OUT: data/local_data)

    OUT/text/train/<module>.txt   one file per module: its docstrings, blank-line separated
    OUT/text/eval/<module>.txt    (every tenth module, by name)
    OUT/train.jsonl, OUT/eval.jsonl   one {"text": ...} object per function or class docstring

Each file is written to a temporary name and renamed, so a crash leaves no half-written file.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import sysconfig
from pathlib import Path

MODULES = 120  # enough text for a few hundred steps of a small model, read in a second or two


def docstrings(path: Path) -> tuple[str | None, list[str]]:
    """The module's docstring and those of its functions and classes, in source order."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None, []
    inner = [
        doc
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and (doc := ast.get_docstring(node))
    ]
    return ast.get_docstring(tree), inner


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("data/local_data"), metavar="OUT")
    args = parser.parse_args(argv)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if not p.name.startswith("_"))[:MODULES]
    jsonl = {"train": [], "eval": []}
    written = {"train": 0, "eval": 0}
    for index, path in enumerate(files):
        split = "eval" if index % 10 == 9 else "train"
        module_doc, inner = docstrings(path)
        texts = [module_doc] * bool(module_doc) + inner
        if not texts:
            continue
        write(args.out / "text" / split / f"{path.stem}.txt", "\n\n".join(texts) + "\n")
        written[split] += 1
        jsonl[split] += [json.dumps({"text": text, "module": path.stem}) for text in inner]
    for split, lines in jsonl.items():
        write(args.out / f"{split}.jsonl", "\n".join(lines) + "\n")
    print(f"{args.out}/text: {written['train']} train and {written['eval']} eval files; "
          f"{args.out}/train.jsonl: {len(jsonl['train'])} docstrings, eval.jsonl: {len(jsonl['eval'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
