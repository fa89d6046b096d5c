"""Language-server latency and whole-process `fgc check`, against the reference's text pipeline.

    python bench/bench_lsp.py [--rounds 30] [--runs 5]

Generates a five-template hierarchy of about 1,000 template lines (experiment -> project ->
trainer -> model -> base, each level overriding blocks of its parents with `super()` and adding
its own), whose callables are standard-library classes with real signatures (so signature
binding runs) and which `fgc check` finds clean. Then measures:

* server: `python -m fgc lsp` over stdio, driven by a pygls client. The experiment is opened
  (the first check, cold inside the process), then each round sends a `didChange` of the
  experiment (one value edited, alternating) and waits for the `publishDiagnostics` of that
  version: the median over `--rounds` warm rounds, with the default debounce and with
  `fgc.lsp.debounceMs = 0` (the analysis and the protocol alone);
* `fgc check` as a whole process: cold (a fresh, empty cache directory, so the standard-library
  modules are imported to read their signatures), warm (the cache directory filled by a previous
  run of the same check: the result cache answers, fgc/result_cache) and edited (the same warm
  signature cache, in a copy of the config whose experiment gets a new value before each run: the
  result cache misses and the whole pipeline runs);
* reference: a whole process that renders the same templates with the reference's text pipeline
  (tests/templates/reference_dialect.py) and loads the result with PyYAML's SafeLoader with
  constructors for the tags (as the reference's loader has).

Whole-process times are medians of `--runs` runs of each, interleaved. Prints each time and the
ratios; the goals are a server median under 50 ms and a warm `fgc check` at most half the
reference's time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ["base", "model", "trainer", "project", "experiment"]


def _section(level: int, i: int) -> list[str]:
    """One block's content, header first: about 20 lines, two tagged callables, an alias, a
    `{{ }}` value."""
    name = f"{LEVELS[level]}_{i}"
    return [
        f"[{name}]",
        f"## {name}: a wrapper, a fraction and a plain mapping",
        f"{name}_wrap: &{name}_wrap !singleton:textwrap:TextWrapper",
        f"    width: {{{{ ns.width + {i} }}}}",
        "    initial_indent: '  '",
        "    subsequent_indent: '    '",
        "    break_long_words: false",
        "    tabsize: 4",
        f"{name}_ratio: !singleton:fractions:Fraction",
        f"    numerator: {i + 1}",
        f"    denominator: {level + 2}",
        f"{name}_settings:",
        f"    wrapper: *{name}_wrap",
        f"    label: \"{name}\"",
        "    enabled: true",
        f"    scale: {0.5 + i}",
        "    items: [ 1, 2, 3 ]",
        "    nested:",
        f"        depth: {level}",
        "        note: a plain string",
    ]


def generate(directory: Path, sections: int = 10) -> Path:
    """Write the five templates; returns the experiment. About 200 lines per template: the base
    defines `sections` blocks, and each later level overrides every one of them, keeping the
    parent's text with `super()` and adding a section of its own."""
    for level, name in enumerate(LEVELS):
        lines: list[str] = []
        if level == 0:
            lines += ["## base.fg: the root of the bench hierarchy", "-- set ns = namespace(width=60)"]
        else:
            lines += [f"-- extends '{LEVELS[level - 1]}.fg'", f"## {name}.fg: level {level}"]
        for i in range(sections):
            lines.append(f"[slot_{i}]")
            if level > 0:
                lines.append("== super()")
            lines += _section(level, i)[1:]
        (directory / f"{name}.fg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory / "experiment.fg"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --------------------------------------------------------------------------------------------
# The server


async def server_latency(experiment: Path, rounds: int, options: dict, cache: str) -> tuple[float, float]:
    """(first publication after didOpen, median didChange -> publishDiagnostics), in ms."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    published: dict[int | None, float] = {}
    arrived = asyncio.Event()
    uri = experiment.as_uri()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            if params.diagnostics:
                raise SystemExit(f"the bench config has diagnostics: {params.diagnostics[:3]}")
            published[params.version] = time.perf_counter()
            arrived.set()

    await client.start_io(sys.executable, "-m", "fgc", "lsp", env={**os.environ, "FGC_CACHE_DIR": cache})
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=experiment.parent.as_uri(),
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())

    async def until(version: int) -> float:
        while version not in published:
            arrived.clear()
            await arrived.wait()
        return published[version]

    text = experiment.read_text(encoding="utf-8")
    start = time.perf_counter()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "forgather", 1, text))
    )
    first = await until(1) - start
    samples = []
    for version in range(2, rounds + 5):
        edited = text.replace("numerator: 1\n", f"numerator: {version}\n", 1)
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=edited)],
            )
        )
        done = await until(version)
        if version >= 5:  # three warm-up rounds
            samples.append(done - sent)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return first * 1000, median_ms(samples)


# --------------------------------------------------------------------------------------------
# Whole processes

REFERENCE = """
import sys, yaml
sys.path[:0] = [{templates!r}, {bench!r}]
import reference_dialect
from bench_config import ReferenceLoader
from pathlib import Path
text = reference_dialect.render(Path({experiment!r}), [], {{}})
yaml.load(text, Loader=ReferenceLoader)
"""


def run_process(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def whole_processes(experiment: Path, edited: Path, runs: int, scratch: Path) -> dict[str, float]:
    check = [sys.executable, "-m", "fgc", "check", str(experiment)]
    check_edited = [sys.executable, "-m", "fgc", "check", str(edited)]
    edited_text = edited.read_text(encoding="utf-8")
    reference = [
        sys.executable,
        "-c",
        REFERENCE.format(
            templates=str(ROOT / "tests" / "templates"), bench=str(ROOT / "bench"), experiment=str(experiment)
        ),
    ]
    warm_cache = scratch / "warm-cache"
    warm_env = {**os.environ, "FGC_CACHE_DIR": str(warm_cache)}
    run_process(check, warm_env)  # fills the warm cache
    times: dict[str, list[float]] = {"cold": [], "warm": [], "edited": [], "reference": []}
    for n in range(runs):
        cold_env = {**os.environ, "FGC_CACHE_DIR": str(scratch / f"cold-cache-{n}")}
        times["cold"].append(run_process(check, cold_env))
        times["warm"].append(run_process(check, warm_env))
        # A value never checked before: a miss of the result cache, every time.
        edited.write_text(edited_text.replace("numerator: 1\n", f"numerator: {1000 + n}\n", 1), encoding="utf-8")
        times["edited"].append(run_process(check_edited, warm_env))
        times["reference"].append(run_process(reference, dict(os.environ)))
    return {k: median_ms(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="warm didChange rounds (median)")
    parser.add_argument("--runs", type=int, default=5, help="whole-process runs of each (median)")
    parser.add_argument("--sections", type=int, default=10, help="blocks per template")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fgc-bench-lsp-") as tmp:
        scratch = Path(tmp)
        project = scratch / "project"
        project.mkdir()
        experiment = generate(project, args.sections)
        (scratch / "edited").mkdir()
        edited = generate(scratch / "edited", args.sections)
        lines = sum(len(p.read_text().splitlines()) for p in project.glob("*.fg"))
        print(f"config: {len(LEVELS)} templates, {lines} template lines")
        cache = str(scratch / "server-cache")
        first, debounced = asyncio.run(server_latency(experiment, args.rounds, {}, cache))
        _, immediate = asyncio.run(server_latency(experiment, args.rounds, {"fgc.lsp.debounceMs": 0}, cache))
        procs = whole_processes(experiment, edited, args.runs, scratch)
    from fgc.lsp.settings import DEFAULT_DEBOUNCE_MS

    print(f"server: first check after didOpen       {first:8.1f} ms")
    print(f"server: didChange -> publishDiagnostics {debounced:8.1f} ms median (debounce {DEFAULT_DEBOUNCE_MS} ms)")
    print(f"server: didChange -> publishDiagnostics {immediate:8.1f} ms median (debounce 0)")
    print(f"fgc check, cold process                 {procs['cold']:8.1f} ms median")
    print(f"fgc check, warm process                 {procs['warm']:8.1f} ms median")
    print(f"fgc check, warm, experiment edited      {procs['edited']:8.1f} ms median")
    print(f"reference text pipeline + PyYAML        {procs['reference']:8.1f} ms median")
    print(f"ratio server (debounce 0) / 50 ms goal  {immediate / 50:8.2f}")
    print(f"ratio warm check / reference            {procs['warm'] / procs['reference']:8.2f}  (goal <= 0.5)")
    print(f"ratio cold check / reference            {procs['cold'] / procs['reference']:8.2f}")
    print(f"ratio edited check / reference          {procs['edited'] / procs['reference']:8.2f}")
    print(f"load average                            {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
