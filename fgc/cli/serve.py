"""`fgc serve RUN_DIR`: serve the model a run saved through an existing OpenAI-compatible server,
`transformers serve` (transformers' own; `pip install 'forgather[serving]'`) or vLLM's
`vllm serve` where vLLM is installed.

fgc only finds the model and starts the server in a subprocess: a run directory (or its
`latest` link) whose top holds the saved model; `--trust-remote-code` when the model's code
ships with it (the project's own architectures); the server's address and the model name to
send in requests are printed first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import UsageError

ENGINES = ("transformers", "vllm")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a run's model over HTTP with an OpenAI-compatible server (transformers serve, vLLM)",
        description=(
            "Serve the model saved in RUN_DIR (a run directory, its `latest` link, or any model directory) "
            "through an OpenAI-compatible server: `transformers serve` (the default; needs "
            "pip install 'forgather[serving]') or `vllm serve` (--engine vllm, where vLLM is installed and "
            "implements the architecture). The chat endpoint renders messages with the run's tokenizer's chat "
            "template. Options after `--` go to the server as they are."
        ),
        epilog=(
            "examples:\n"
            "  fgc serve runs/finetune_chat_full/latest --port 8000\n"
            "  curl localhost:8000/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            "      -d '{\"model\": \"<the name fgc prints>\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (or model directory) to serve")
    p.add_argument("--engine", choices=ENGINES, default="transformers", help="the server (transformers)")
    p.add_argument("--host", default="localhost", help="the address to listen on (localhost)")
    p.add_argument("--port", type=int, default=8000, help="the port to listen on (8000)")
    p.add_argument("--device", default=None, help="transformers serve's --device (auto, cpu, cuda:0, ...)")
    p.add_argument("--print-command", action="store_true", help="print the server's command line instead of running it")
    p.set_defaults(handler=run, dynamic_words=None)


def model_dir(run_dir: str) -> Path:
    """The directory holding the saved model: RUN_DIR itself (links resolved)."""
    path = Path(run_dir).resolve()
    if not path.is_dir():
        raise UsageError(f"{run_dir}: no such directory")
    if not (path / "config.json").is_file():
        raise UsageError(
            f"{run_dir}: no saved model here (no config.json); a run saves its model when it ends "
            "(TrainingScript's do_save)"
        )
    return path


def loadable_view(path: Path, into: Path) -> Path:
    """A directory that `transformers serve` can load a model of the project's own architectures
    from: links to `path`'s files, with a config.json that names no architecture.

    transformers serve (5.x) loads `getattr(transformers, config.architectures[0])`, which a
    model whose code ships with it is not an attribute of; a config without `architectures` it
    loads with `AutoModelForCausalLM` and `--trust-remote-code`, as `from_pretrained` does."""
    view = into / path.name
    view.mkdir()
    for entry in path.iterdir():
        if entry.name != "config.json":
            (view / entry.name).symlink_to(entry)
    config = json.loads((path / "config.json").read_text())
    config.pop("architectures", None)
    (view / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return view


def server_command(args, path: Path) -> list[str]:
    ours = custom_code(path)
    extra = list(args.dynamic_words or [])
    if args.engine == "vllm":
        if importlib.util.find_spec("vllm") is None or shutil.which("vllm") is None:
            raise UsageError("--engine vllm: vLLM is not installed here (pip install vllm, on a machine with a GPU)")
        if ours:
            raise UsageError(
                f"{path} is one of the project's own architectures; vLLM serves only the ones it implements: "
                f"convert it first (fgc convert {path} OUT --to llama), or use --engine transformers"
            )
        return ["vllm", "serve", str(path), "--host", args.host, "--port", str(args.port), *extra]
    beside = Path(sys.executable).parent / "transformers"  # the console script of this environment
    cli = str(beside) if beside.is_file() else shutil.which("transformers")
    if cli is None:
        raise UsageError("fgc serve needs transformers' `transformers` command (pip install 'forgather[serving]')")
    command = [cli, "serve", str(path), "--host", args.host, "--port", str(args.port)]
    if args.device:
        command += ["--device", args.device]
    if ours:
        command.append("--trust-remote-code")  # the model's code is the run's own (modeling.py)
    return command + extra


def custom_code(path: Path) -> bool:
    return bool(json.loads((path / "config.json").read_text()).get("auto_map"))


def run(args) -> int:
    path = model_dir(args.run_dir)
    with tempfile.TemporaryDirectory(prefix="fgc-serve-") as tmp:
        served = path
        if args.engine == "transformers" and custom_code(path) and not args.print_command:
            served = loadable_view(path, Path(tmp))
        command = server_command(args, served)
        if args.print_command:
            print(" ".join(command))
            return 0
        print(f"fgc serve: {path} with {args.engine} serve at http://{args.host}:{args.port}/v1 "
              f"(OpenAI-compatible)\n  model name for requests: {served}", file=sys.stderr, flush=True)
        return run_server(command)


def run_server(command: list[str]) -> int:
    """Run the server until it exits. fgc terminated (SIGTERM) terminates the server too: a server
    left behind would hold its port and memory with no parent."""
    server = subprocess.Popen(command)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: server.send_signal(signum))
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the server too (same process group)
        server.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
