"""Optimizer step time and state memory: forgather.ml.optim against the reference
implementations, in the same run, on the parameter shapes of a 60M-parameter Llama (the GaLore
and APOLLO papers' smallest model: hidden 512, MLP 1376, 8 layers, vocabulary 32000, untied
head; 58.1M parameters).

    python bench/bench_optim.py                      # CPU
    python bench/bench_optim.py --device cuda        # GPU
    python bench/bench_optim.py --only galore apollo --steps 5

Every pair runs on identical parameters and fixed random gradients; the timed steps of ours and
of the reference alternate (repeats) and each reports its median, so a busy machine slows both
alike. `ratio` = reference time / our time (> 1: we are faster). State is measured with
forgather.ml.optim.state_bytes (storages counted once, in full; it also sees the projector
objects galore-torch keeps in its state). GaLore and APOLLO refresh their projections every
200 steps: "refresh" rows time a step that recomputes it (SVD / random draw), "step" rows the
other 199. apollo-torch (non-commercial licence, never a dependency) is compared only if it
happens to be importable.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import torch

from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW, apollo_mini, state_bytes

MiB = 2**20
TARGET = r"_proj\.weight$"


def llama_60m_shapes(vocab=32000, hidden=512, mlp=1376, layers=8) -> list[tuple[str, tuple[int, ...]]]:
    shapes = [("model.embed_tokens.weight", (vocab, hidden))]
    for i in range(layers):
        prefix = f"model.layers.{i}."
        shapes += [(prefix + f"self_attn.{n}_proj.weight", (hidden, hidden)) for n in "qkvo"]
        shapes += [(prefix + "mlp.gate_proj.weight", (mlp, hidden)), (prefix + "mlp.up_proj.weight", (mlp, hidden))]
        shapes += [(prefix + "mlp.down_proj.weight", (hidden, mlp))]
        shapes += [
            (prefix + "input_layernorm.weight", (hidden,)),
            (prefix + "post_attention_layernorm.weight", (hidden,)),
        ]
    shapes += [("model.norm.weight", (hidden,)), ("lm_head.weight", (vocab, hidden))]
    return shapes


@dataclass
class Case:
    name: str
    ours: Callable[[list], torch.optim.Optimizer]
    reference: Callable[[list], torch.optim.Optimizer] | None
    reference_name: str
    refresh: bool = False  # time the projection refresh (first step) separately


def lowrank_groups(named, **options):
    """galore-torch / apollo-torch style groups: projected matrices in a group with rank."""
    import re

    pattern = re.compile(TARGET)
    projected = [p for n, p in named if pattern.search(n)]
    others = [p for n, p in named if not pattern.search(n)]
    return [{"params": others}, {"params": projected, **options}]


def cases(only: set[str] | None) -> list[Case]:
    out = [
        Case(
            "adamw",
            lambda n: AdamW(n, lr=1e-3, weight_decay=0.01),
            lambda n: torch.optim.AdamW([p for _, p in n], lr=1e-3, weight_decay=0.01, foreach=True),
            "torch.optim.AdamW(foreach=True)",
        ),
        Case(
            "sgd_momentum",
            lambda n: SGD(n, lr=1e-2, momentum=0.9),
            lambda n: torch.optim.SGD([p for _, p in n], lr=1e-2, momentum=0.9, foreach=True),
            "torch.optim.SGD(foreach=True)",
        ),
    ]
    from transformers.optimization import Adafactor as HFAdafactor

    manual = dict(lr=1e-3, relative_step=False, scale_parameter=False)
    out += [
        Case(
            "adafactor",
            lambda n: Adafactor(n, **manual),
            lambda n: HFAdafactor([p for _, p in n], **manual),
            "transformers Adafactor (manual lr)",
        ),
        Case(
            "adafactor_relative",
            lambda n: Adafactor(n),
            lambda n: HFAdafactor([p for _, p in n]),
            "transformers Adafactor (relative step)",
        ),
    ]
    galore = dict(rank=128, update_proj_gap=200, scale=0.25, proj_type="std")
    try:
        from galore_torch import GaLoreAdamW as ReferenceGaLore

        galore_ref = lambda n: ReferenceGaLore(lowrank_groups(n, **galore), lr=1e-2)  # noqa: E731
    except ImportError:
        galore_ref = None
    out.append(
        Case(
            "galore_r128",
            lambda n: GaLoreAdamW(n, lr=1e-2, target=TARGET, **galore),
            galore_ref,
            "galore-torch GaLoreAdamW",
            refresh=True,
        )
    )
    apollo_ref = mini_ref = None
    try:  # optional comparison only: apollo-torch is licensed for non-commercial use
        from apollo_torch import APOLLOAdamW

        apollo_ref = lambda n: APOLLOAdamW(
            lowrank_groups(  # noqa: E731
                n, rank=128, proj="random", scale_type="channel", scale=1, update_proj_gap=200, proj_type="std"
            ),
            lr=1e-2,
        )
        mini_ref = lambda n: APOLLOAdamW(
            lowrank_groups(  # noqa: E731
                n, rank=1, proj="random", scale_type="tensor", scale=128, update_proj_gap=200, proj_type="std"
            ),
            lr=1e-2,
        )
    except ImportError:
        pass
    out += [
        Case(
            "apollo_r128",
            lambda n: APOLLO(n, lr=1e-2, rank=128, target=TARGET),
            apollo_ref,
            "apollo-torch APOLLOAdamW",
            refresh=True,
        ),
        Case(
            "apollo_mini",
            lambda n: apollo_mini(n, lr=1e-2, target=TARGET),
            mini_ref,
            "apollo-torch APOLLOAdamW (mini)",
            refresh=True,
        ),
    ]
    return [c for c in out if only is None or c.name in only]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_model(shapes, device) -> tuple[list, list]:
    g = torch.Generator().manual_seed(0)
    named, grads = [], []
    for name, shape in shapes:
        p = torch.nn.Parameter((0.02 * torch.randn(shape, generator=g)).to(device))
        grads.append((1e-3 * torch.randn(shape, generator=g)).to(device))
        named.append((name, p))
    return named, grads


def fresh_optimizer(factory, named, grads, device):
    for (_, p), g in zip(named, grads):
        p.grad = g
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(named)


def time_steps(opt, steps: int, device) -> list[float]:
    times = []
    for _ in range(steps):
        sync(device)
        start = time.perf_counter()
        opt.step()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def bench_case(case: Case, named, grads, device, steps: int, repeats: int) -> dict:
    runners = {"ours": case.ours}
    if case.reference is not None:
        runners["ref"] = case.reference
    result = {}
    for key, factory in runners.items():
        opt = fresh_optimizer(factory, named, grads, device)
        first = time_steps(opt, 1, device)[0]  # state creation (+ projection refresh)
        result[key] = {"opt": opt, "first": first, "steps": [], "bytes": state_bytes(opt)}
    for _ in range(repeats):  # alternate: a busy machine slows both alike
        for key in runners:
            result[key]["steps"] += time_steps(result[key]["opt"], steps, device)
    if case.refresh:  # a refresh step on warm state: galore/apollo refit when step % gap == 0
        for _ in range(max(1, repeats // 2)):
            for key in runners:
                opt = result[key]["opt"]
                for state in opt.state.values():
                    state["step"] = 200  # the next step is a refresh
                result[key].setdefault("refresh", []).extend(time_steps(opt, 1, device))
    for key in runners:
        result[key].pop("opt")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    shapes = llama_60m_shapes()
    total = sum(math.prod(s) for _, s in shapes)
    print(
        f"# bench_optim: {total / 1e6:.1f}M parameters in {len(shapes)} tensors (Llama-60M shapes), "
        f"float32, device {device}"
        + (
            f" ({torch.cuda.get_device_name(device)})"
            if device.type == "cuda"
            else f", {torch.get_num_threads()} threads"
        )
        + f", torch {torch.__version__}"
    )
    print(f"# median of {args.steps * args.repeats} steps per implementation, alternating in {args.repeats} rounds")
    header = f"{'case':<20} {'what':<8} {'ours ms':>9} {'ref ms':>9} {'ratio':>6}   {'ours MiB':>9} {'ref MiB':>9}   reference"
    print(header)
    print("-" * len(header))
    named, grads = make_model(shapes, device)
    for case in cases(set(args.only) if args.only else None):
        r = bench_case(case, named, grads, device, args.steps, args.repeats)
        ours, ref = r["ours"], r.get("ref")
        rows = [("step", statistics.median(ours["steps"]), ref and statistics.median(ref["steps"]))]
        if case.refresh:
            rows.append(("refresh", statistics.median(ours["refresh"]), ref and statistics.median(ref["refresh"])))
        for i, (what, t_ours, t_ref) in enumerate(rows):
            ratio = f"{t_ref / t_ours:6.2f}" if t_ref else "     -"
            t_ref_text = f"{1e3 * t_ref:9.1f}" if t_ref else "        -"
            memory = (
                (f"{ours['bytes'] / MiB:9.1f} " + (f"{ref['bytes'] / MiB:9.1f}" if ref else "        -"))
                if i == 0
                else " " * 19
            )
            name = case.name if i == 0 else ""
            reference = (case.reference_name if ref else f"({case.reference_name}: not installed)") if i == 0 else ""
            print(f"{name:<20} {what:<8} {1e3 * t_ours:9.1f} {t_ref_text} {ratio}   {memory}   {reference}")
        sys.stdout.flush()
        del r
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
