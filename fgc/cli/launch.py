"""`fgc run --nproc N`: can this build's target run in several processes?

A build may be launched in several processes only when every trainer class it names supports
that. The trainers are found from the build's graph.json (the callables of its nodes), without
constructing anything: each callable is looked up (importing its module, which the run does
anyway) and a class counts as a trainer when it

- has the class attribute `supports_multi_process` (the contract: a trainer that runs in
  several processes sets it to True), or
- derives from `transformers.Trainer` (multi-process through Accelerate), or
- derives from Forgather's `BaseTrainer` (single process unless it sets the attribute).

The torchrun launch itself lives next to this check (run.py today).
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..imports.specs import Form, SpecError, parse_spec


@dataclass(frozen=True)
class TrainerClass:
    spec: str  # the callable as the config wrote it
    cls: type
    multi_process: bool

    @property
    def name(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


def graph_callables(build_dir: Path) -> list[str]:
    """Every callable spec of the build's graph, in node order, each once."""
    try:
        graph = json.loads((build_dir / "graph.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    specs = [n.get("callable") for n in graph.get("nodes", {}).values()]
    return list(dict.fromkeys(s for s in specs if s))


def _local_module(build_dir: Path, name: str):
    """A module copied into the build's modules/ and already imported by its config.py."""
    modules = (build_dir / "modules").resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or module.__name__.rpartition(".")[2] != name:
            continue
        try:
            Path(file).resolve().relative_to(modules)
        except ValueError:
            continue
        return module
    return None


def resolve_callable(spec_text: str, build_dir: Path):
    """The object a spec names, or None when it cannot be looked up without constructing."""
    try:
        spec = parse_spec(spec_text, str(build_dir))
    except SpecError:
        return None
    module = None
    try:
        if spec.form == Form.MODULE and spec.module is not None:
            module = importlib.import_module(spec.module)
        elif spec.form == Form.RELATIVE and spec.module is not None:
            module = _local_module(build_dir, spec.module.rpartition(".")[2])
        elif spec.form == Form.FILE and spec.path is not None:
            module = _local_module(build_dir, Path(spec.path).stem)
    except Exception:  # a module that fails to import is reported by the run itself
        return None
    obj = module
    for attr in spec.attrs if module is not None else ():
        obj = getattr(obj, attr, None)
    return obj


def _derives_from(cls: type, module_prefix: str, name: str) -> bool:
    return any(c.__name__ == name and c.__module__.startswith(module_prefix) for c in cls.__mro__)


def trainer_class(obj) -> TrainerClass | None:
    if not isinstance(obj, type):
        return None
    declared = getattr(obj, "supports_multi_process", None)
    if declared is not None:
        return TrainerClass("", obj, bool(declared))
    if _derives_from(obj, "transformers", "Trainer"):
        return TrainerClass("", obj, True)
    if _derives_from(obj, "forgather.ml.trainer", "BaseTrainer"):
        return TrainerClass("", obj, False)
    return None


def trainer_classes(build_dir: str | Path) -> list[TrainerClass]:
    """The trainer classes the build's config names (call after importing its config.py, so that
    local modules are found)."""
    build_dir = Path(build_dir)
    found = []
    for spec in graph_callables(build_dir):
        info = trainer_class(resolve_callable(spec, build_dir))
        if info is not None:
            found.append(TrainerClass(spec, info.cls, info.multi_process))
    return found


def single_process_trainers(build_dir: str | Path) -> list[TrainerClass]:
    """The trainers that refuse `--nproc N` (an empty list: the build may be launched)."""
    return [t for t in trainer_classes(build_dir) if not t.multi_process]


def nproc_refusal(build_dir: str | Path, nproc: int) -> str | None:
    """Why `--nproc nproc` cannot run this build, or None."""
    if nproc <= 1:
        return None
    single = single_process_trainers(build_dir)
    if not single:
        return None
    names = ", ".join(f"{t.name} (`{t.spec}`)" for t in single)
    return (
        f"--nproc {nproc}: the build's trainer runs in a single process: {names}; "
        "use a multi-process trainer (one whose class sets `supports_multi_process = True`, "
        "or a transformers.Trainer), or run without --nproc"
    )


# ------------------------------------------------------------------------- the torchrun launch


def add_torchrun_arguments(parser) -> None:
    """The options of `fgc run` that shape a multi-process launch (besides --nproc)."""
    group = parser.add_argument_group(
        "multi-process launch (with --nproc; torchrun's flags of the same names)",
        "One node: `--nproc N` alone (a standalone rendezvous on a free local port).\n"
        "Several nodes: the same command on every node with --nnodes, its own --node-rank, and\n"
        "rank 0's --master-addr/--master-port. Processes use gloo on the CPU and NCCL on CUDA.",
    )
    group.add_argument("--nnodes", type=int, default=1, metavar="M", help="number of nodes (default: 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="R", help="this node's rank, 0..M-1 (default: 0)")
    group.add_argument("--master-addr", default=None, metavar="HOST",
                       help="address of the node with rank 0 (needed when --nnodes > 1)")
    group.add_argument("--master-port", type=int, default=None, metavar="PORT",
                       help="a free port on the rank-0 node (default with --master-addr: 29500)")
    group.add_argument("--torchrun-arg", dest="torchrun_args", action="append", default=[], metavar="ARG",
                       help="pass ARG to torchrun as it is (repeatable), e.g. --torchrun-arg=--max-restarts=2")


def torchrun_command(args, child: list[str]) -> list[str]:
    """`python -m torch.distributed.run ... <child>` for the launch options in ``args``.

    Raises ValueError for an inconsistent combination (reported as a usage error)."""
    nnodes = getattr(args, "nnodes", None)
    nnodes = 1 if nnodes is None else nnodes
    node_rank = getattr(args, "node_rank", None) or 0
    master_addr = getattr(args, "master_addr", None)
    master_port = getattr(args, "master_port", None)
    if nnodes < 1:
        raise ValueError("--nnodes must be at least 1")
    if not 0 <= node_rank < nnodes:
        raise ValueError(f"--node-rank {node_rank} is not in 0..{nnodes - 1} (--nnodes {nnodes})")
    if nnodes > 1 and not master_addr:
        raise ValueError("--nnodes > 1 needs --master-addr (the address of the node with --node-rank 0)")
    if nnodes > 1 and not getattr(args, "output_dir", None):
        raise ValueError(
            "--nnodes > 1 needs --output-dir RUN_DIR, the same on every node (on a shared file "
            "system): node 0 makes the run directory, the other nodes' processes write into it"
        )
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.nproc}"]
    if master_addr:
        cmd += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", f"--master-addr={master_addr}",
                f"--master-port={master_port or 29500}"]
    else:
        cmd.append("--standalone")  # one node, a free port chosen by torchrun
        if master_port:
            raise ValueError("--master-port needs --master-addr (one node picks a free port itself)")
    cmd += list(getattr(args, "torchrun_args", []) or [])
    return cmd + child
