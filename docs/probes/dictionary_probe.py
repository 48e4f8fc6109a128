r"""How much a witness dictionary can carry: an L2 logistic-regression probe on train -> val.

Used for the explanations in docs/reproduction.md (never for choosing a result: result files
only come from `snnbench evaluate`, with choices made on val by the harness).  For a task it
fits the same probe on
  - the inputs themselves, flattened over time (what a position-aware model could use),
  - the inputs summed over time (what survives if the order of the steps is lost),
  - the last-step dictionary of random LIF witnesses at several depths / widths / variants,
and prints train and val accuracy.  Val only; the test split is never touched.

    python docs/probes/dictionary_probe.py smnist-mini-t4 \
        --networks 3:512:1024:standard 2:512:1024:standard
"""

from __future__ import annotations

import argparse

import torch

from snnbench.methods.base import network_spec
from snnbench.methods.recon import dictionary, init_witnesses
from snnbench.models.lif import LIFNetwork
from snnbench.tasks import get_task


def probe(
    train: torch.Tensor,
    y: torch.Tensor,
    val: torch.Tensor,
    yv: torch.Tensor,
    classes: int,
    l2: float = 1e-4,
) -> tuple[float, float]:
    """L-BFGS on softmax cross-entropy + l2 ||W||^2 with a bias; (train, val) accuracy."""

    def design(m: torch.Tensor) -> torch.Tensor:
        m = m.reshape(len(m), -1).double()
        return torch.cat([m, torch.ones(len(m), 1, dtype=m.dtype)], 1)

    x, xv = design(train), design(val)
    w = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=300, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w, y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((x @ w).argmax(1) == y).double().mean()), float(
            ((xv @ w).argmax(1) == yv).double().mean()
        )


def percent(pair: tuple[float, float]) -> str:
    return f"train {100 * pair[0]:.1f}, val {100 * pair[1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("task")
    parser.add_argument(
        "--networks",
        nargs="*",
        default=["3:512:1024:standard"],
        help="depth:p_rec:p_last:witnesses, membrane features at t = T",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = get_task(args.task)
    if task.kind != "sequence":
        raise SystemExit("the probe reads last-step features: sequence tasks only")
    splits = task.load()
    train, val = splits["train"], splits["val"]
    y, yv, classes = train.targets(), val.targets(), task.n_out
    print(f"{args.task}: L2 logistic-regression probe, train -> val accuracy (%)")
    print(
        "  inputs flattened over time : "
        f"{percent(probe(train.inputs(), y, val.inputs(), yv, classes))}"
    )
    print(
        "  inputs summed over time    : "
        f"{percent(probe(train.inputs().sum(1), y, val.inputs().sum(1), yv, classes))}"
    )
    for text in args.networks:
        depth, p_rec, p_last, variant = text.split(":")
        config = {
            "depth": int(depth),
            "p_rec": int(p_rec),
            "p_last": int(p_last),
            "features": "membrane",
            "branches": 2,
            "beta": 0.99,
            "theta": 1.0,
        }
        net = LIFNetwork(network_spec(task, config))
        init_witnesses(net, variant, args.seed)
        d, dv = dictionary(net, train), dictionary(net, val)
        print(
            f"  witnesses L={depth} P_rec={p_rec} P_last={p_last} {variant:10s}: "
            f"{percent(probe(d, y, dv, yv, classes))}"
        )


if __name__ == "__main__":
    main()
