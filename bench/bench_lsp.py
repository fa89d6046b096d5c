"""The language server under an editor's load, and whole-process `fgc check` beside the
reference's text pipeline.

    python bench/bench_lsp.py [--edits 50] [--rss-edits 2000] [--runs 5] [--parts edits,burst,hover,rss]

Generates a five-template hierarchy of about 1,000 template lines (experiment -> project ->
trainer -> model -> base, each level overriding every block of its parent with `super()` and
adding its own), whose callables are standard-library classes with real signatures (so signature
binding runs) and which `fgc check` finds clean; and a 0.5 MB experiment of its own. Starts a
CPU-bound process beside the server (an editor's machine is never idle), then drives
`python -m fgc lsp` over stdio with a pygls client, as an editor does:

* edits: `didChange` of the experiment (a value edited), then of the base template, each
  `--edits` times, one after another; the time from each `didChange` to the
  `publishDiagnostics` of its version: median and p95;
* hover during a check: the 0.5 MB experiment is opened (its check starts on the worker
  thread) and hovers on the experiment are sent while that check runs: their latency, median
  and max (only those answered before the big check's diagnostics arrived count);
* burst: 10 `didChange`s sent within 100 ms, then the time from the last of them to the
  diagnostics of its version (median of 5 bursts);
* memory: the server's resident set size after the first edits and after `--rss-edits` more
  (each waited for; a line is added every tenth edit, so origin markers are taken too).

Goals (issue 21): median at most 50 ms and p95 at most 150 ms, hover during a check at most
20 ms, burst at most two debounce windows plus one check, RSS growth at most 20 MB.

Whole processes, medians of `--runs` interleaved runs: `fgc check` cold (an empty cache
directory), warm (the result cache replays it), edited (a value never checked before: the
pipeline runs), and a process running the reference's text pipeline
(tests/templates/reference_dialect.py) plus PyYAML on the same templates.
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


def generate_big(path: Path, size: int = 500_000) -> Path:
    """An experiment of about `size` bytes: many targets, each a tagged call and a mapping."""
    lines: list[str] = []
    i = 0
    while sum(len(x) + 1 for x in lines) < size:
        lines += [
            f"ratio_{i}: !singleton:fractions:Fraction",
            f"    numerator: {i + 1}",
            "    denominator: 7",
            f"settings_{i}:",
            f"    label: \"entry number {i}\"",
            f"    scale: {i}.5",
            "    items: [ 1, 2, 3 ]",
        ]
        i += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# --------------------------------------------------------------------------------------------
# The server


class Session:
    """A pygls client driving `python -m fgc lsp` over stdio."""

    def __init__(self, cache: str) -> None:
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        self.types = types
        self.cache = cache
        self.client = LanguageClient("bench", "1")
        self.published: dict[tuple[str, int | None], float] = {}
        self.diagnostics: dict[str, list] = {}
        self.arrived = asyncio.Event()
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[(params.uri, params.version)] = time.perf_counter()
            self.diagnostics[params.uri] = params.diagnostics
            self.arrived.set()

    async def start(self, root: Path) -> None:
        types = self.types
        await self.client.start_io(sys.executable, "-m", "fgc", "lsp", env={**os.environ, "FGC_CACHE_DIR": self.cache})
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    @property
    def pid(self) -> int:
        assert self.client._server is not None
        return self.client._server.pid

    async def until(self, uri: str, version: int, timeout: float = 600) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.published:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(deadline - time.perf_counter(), 0.001))
        return self.published[(uri, version)]

    def open(self, path: Path) -> str:
        uri = path.as_uri()
        self.texts[uri] = path.read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.client.text_document_did_open(
            self.types.DidOpenTextDocumentParams(self.types.TextDocumentItem(uri, "forgather", 1, self.texts[uri]))
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        self.versions[uri] += 1
        version = self.versions[uri]
        types = self.types
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return version

    async def hover(self, uri: str, line: int, character: int) -> float:
        types = self.types
        start = time.perf_counter()
        result = await self.client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
        )
        if result is None:
            raise SystemExit(f"no hover at {uri}:{line}:{character}")
        return time.perf_counter() - start

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def _edited(text: str, marker: str, n: int) -> str:
    """`text` with the value after the first `marker` replaced by a new number."""
    return text.replace(marker + "1\n", f"{marker}{n}\n", 1)


async def edit_latencies(s: Session, uri: str, marker: str, count: int, start: int) -> list[float]:
    samples = []
    for n in range(start, start + count):
        sent = time.perf_counter()
        version = s.change(uri, _edited(s.texts[uri], marker, n))
        samples.append(await s.until(uri, version) - sent)
    return samples


async def server_bench(project: Path, big: Path, args: argparse.Namespace, cache: str) -> dict[str, float]:
    experiment, base = project / "experiment.fg", project / "base.fg"
    s = Session(cache)
    await s.start(project)
    out: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        exp_uri = s.open(experiment)
        out["first"] = await s.until(exp_uri, 1) - t0
        if s.diagnostics[exp_uri]:
            raise SystemExit(f"the bench config has diagnostics: {s.diagnostics[exp_uri][:3]}")
        base_uri = s.open(base)
        await s.until(base_uri, 1)
        await edit_latencies(s, exp_uri, "numerator: ", 5, 1000)  # warm-up
        child = await edit_latencies(s, exp_uri, "numerator: ", args.edits, 2000)
        base_samples = await edit_latencies(s, base_uri, "numerator: ", args.edits, 3000)
        out.update(child_median=median_ms(child), child_p95=p95_ms(child))
        out.update(base_median=median_ms(base_samples), base_p95=p95_ms(base_samples))

        # Bursts: 10 changes within 100 ms; the last one's diagnostics.
        bursts = []
        for b in range(5 if "burst" in args.parts else 0):
            for k in range(10):
                version = s.change(exp_uri, _edited(s.texts[exp_uri], "numerator: ", 5000 + 100 * b + k))
                last = time.perf_counter()
                if k < 9:
                    await asyncio.sleep(0.010)
            bursts.append(await s.until(exp_uri, version) - last)
            await asyncio.sleep(0.2)
        out["burst"] = median_ms(bursts) if bursts else float("nan")
        if "hover" in args.parts:
            await hovers_during_check(s, exp_uri, big, out)
        if "rss" in args.parts:
            await memory(s, exp_uri, args.rss_edits, out)
    finally:
        await s.stop()
    return out


async def hovers_during_check(s: Session, exp_uri: str, big: Path, out: dict[str, float]) -> None:
    """Hovers while the 0.5 MB experiment is checked."""
    line = next(i for i, t in enumerate(s.texts[exp_uri].splitlines()) if "experiment_0_settings:" in t)
    idle = [await s.hover(exp_uri, line, 3) for _ in range(10)]
    out["hover_idle"] = median_ms(idle)
    big_uri = s.open(big)
    during: list[float] = []
    opened = time.perf_counter()
    while (big_uri, 1) not in s.published and len(during) < 200:
        latency = await s.hover(exp_uri, line, 3)
        if (big_uri, 1) not in s.published:
            during.append(latency)
        await asyncio.sleep(0.02)
    big_done = await s.until(big_uri, 1)
    out["big_check"] = (big_done - opened) * 1000
    out["hovers_during"] = len(during)
    out["hover_during_median"] = median_ms(during) if during else float("nan")
    out["hover_during_max"] = max(during) * 1000 if during else float("nan")
    s.client.text_document_did_close(s.types.DidCloseTextDocumentParams(s.types.TextDocumentIdentifier(big_uri)))


async def memory(s: Session, exp_uri: str, rss_edits: int, out: dict[str, float]) -> None:
    """The server's resident memory after 50 edits and after `rss_edits` more."""
    await edit_latencies(s, exp_uri, "numerator: ", 50, 10_000)
    out["rss_before"] = rss_mb(s.pid)
    text = s.texts[exp_uri]
    for n in range(rss_edits):
        if n % 10 == 9:  # a new line: the template grows, new origin markers
            text = text.replace("## experiment.fg: level 4\n", f"## experiment.fg: level 4\n## edit {n}\n", 1)
        version = s.change(exp_uri, _edited(text, "numerator: ", 20_000 + n))
        await s.until(exp_uri, version)
    out["rss_after"] = rss_mb(s.pid)


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
    parser.add_argument("--edits", type=int, default=50, help="didChange rounds on the experiment and on the base")
    parser.add_argument("--rss-edits", type=int, default=2000, help="edits between the two memory readings")
    parser.add_argument("--runs", type=int, default=5, help="whole-process runs of each (median); 0: none")
    parser.add_argument("--sections", type=int, default=10, help="blocks per template")
    parser.add_argument("--parts", default="edits,burst,hover,rss",
                        help="the server's parts to run, of edits,burst,hover,rss (the edit latencies always run)")
    args = parser.parse_args()
    args.parts = set(args.parts.split(","))
    from fgc.lsp.settings import DEFAULT_DEBOUNCE_MS

    load_start = os.getloadavg()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the editor's machine is busy
    try:
        with tempfile.TemporaryDirectory(prefix="fgc-bench-lsp-") as tmp:
            scratch = Path(tmp)
            project = scratch / "project"
            project.mkdir()
            experiment = generate(project, args.sections)
            big = generate_big(project / "big.fg")
            lines = sum(len(p.read_text().splitlines()) for p in project.glob("*.fg") if p != big)
            print(f"config: {len(LEVELS)} templates, {lines} template lines; big experiment {big.stat().st_size / 1e6:.2f} MB")
            print("a CPU-bound process runs beside the server")
            cache = str(scratch / "server-cache")
            srv = asyncio.run(server_bench(project, big, args, cache))
            procs = None
            if args.runs:
                (scratch / "edited").mkdir()
                edited = generate(scratch / "edited", args.sections)
                procs = whole_processes(experiment, edited, args.runs, scratch)
    finally:
        hog.kill()
        hog.wait()
    window = DEFAULT_DEBOUNCE_MS
    print(f"server: first check after didOpen                 {srv['first'] * 1000:8.1f} ms")
    print(f"server: didChange -> diagnostics, experiment      {srv['child_median']:8.1f} ms median  {srv['child_p95']:8.1f} ms p95"
          f"   (goals 50 / 150)")
    print(f"server: didChange -> diagnostics, base template   {srv['base_median']:8.1f} ms median  {srv['base_p95']:8.1f} ms p95"
          f"   (goals 50 / 150)")
    if "hover" in args.parts:
        print(f"server: hover, idle                               {srv['hover_idle']:8.1f} ms median")
        print(f"server: hover during the 0.5 MB check             {srv['hover_during_median']:8.1f} ms median  "
              f"{srv['hover_during_max']:8.1f} ms max ({srv['hovers_during']:.0f} hovers; the check took "
              f"{srv['big_check']:.0f} ms)   (goal 20)")
    if "burst" in args.parts:
        burst_goal = 2 * window + srv["child_median"]
        print(f"server: last of 10 changes in 100 ms -> diags     {srv['burst']:8.1f} ms median of 5   "
              f"(goal {burst_goal:.0f}: 2 x {window} ms debounce + one check)")
    if "rss" in args.parts:
        growth = srv["rss_after"] - srv["rss_before"]
        print(f"server: RSS after 50 edits / after {args.rss_edits} more       {srv['rss_before']:8.1f} MB  "
              f"{srv['rss_after']:8.1f} MB  growth {growth:+.1f} MB   (goal <= 20)")
    if procs is not None:
        print(f"fgc check, cold process                           {procs['cold']:8.1f} ms median")
        print(f"fgc check, warm process                           {procs['warm']:8.1f} ms median")
        print(f"fgc check, warm, experiment edited                {procs['edited']:8.1f} ms median")
        print(f"reference text pipeline + PyYAML                  {procs['reference']:8.1f} ms median")
        print(f"ratio warm check / reference                      {procs['warm'] / procs['reference']:8.2f}  (goal <= 0.5)")
        print(f"ratio edited check / reference                    {procs['edited'] / procs['reference']:8.2f}")
    load_end = os.getloadavg()
    print(f"load average at start / end                       {' '.join(f'{x:.2f}' for x in load_start)} / "
          f"{' '.join(f'{x:.2f}' for x in load_end)}")


if __name__ == "__main__":
    main()
