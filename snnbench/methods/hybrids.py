"""The hybrids of recon and surrogate gradients (methods.md section 3).

sg-recon ("SG-CVX"): train `sg`, keep its hidden weights as the witnesses, discard its
classifier, and solve recon's convex readout on the resulting dictionary.
recon-sg ("CVX then SG"): run recon, then fine-tune hidden and readout weights with the
surrogate-gradient recipe, starting from the reconstructed network.

Both reuse the sg recipe with `sg_lr` and `sg_epochs` from their config, so that the
surrogate-gradient part is the same as the `sg` baseline's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from snnbench.methods.base import FitData
from snnbench.methods.recon import Recon, Trained
from snnbench.methods.sg import SurrogateGradient, train_surrogate_gradient
from snnbench.models.lif import LIFNetwork


def sg_config(config: dict) -> dict:
    return {**config, "lr": config["sg_lr"], "epochs": config["sg_epochs"]}


class SgRecon(Recon):
    name = "sg-recon"
    description = "sg-trained hidden weights as witnesses, then recon's certified convex readout."
    version = "4"
    changelog = {
        "1": "first version",
        "2": "hinge readouts by HiGHS, as recon version 2",
        "3": "smooth readouts by the barrier method, as recon version 3",
        "4": "witnesses trained by sg version 2 (event-driven products of spikes)",
    }
    config_resource = "snnbench.methods:configs/sg-recon.toml"

    def witnesses(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        return SurrogateGradient().train(data, sg_config(config), seed)  # its readout is replaced


class ReconSg(Recon):
    name = "recon-sg"
    description = (
        "recon, then surrogate-gradient fine-tuning of all weights from the reconstructed network."
    )
    version = "5"
    changelog = {
        "1": "first version",
        "2": "the reconstructed network competes in the best-val selection of the fine-tuning "
        "(version 1 always replaced it by the first fine-tuned epoch: 61.7 % on "
        "first-last-xor-t8 vs recon's 100)",
        "3": "hinge readouts by HiGHS, as recon version 2",
        "4": "smooth readouts by the barrier method, as recon version 3",
        "5": "fine-tuned as sg version 2 trains (event-driven products of spikes)",
    }
    config_resource = "snnbench.methods:configs/recon-sg.toml"

    def networks(self, data: FitData, configs: list[dict], seed: int) -> Iterator[Trained]:
        # progress counts the fine-tuning epochs of each grid point; the reconstruction's
        # own path steps would interleave a second counter with them
        quiet = replace(data, progress=lambda done, total: None)
        for config, model, info in super().networks(quiet, configs, seed):
            tuned = train_surrogate_gradient(
                model, data, sg_config(config), seed, keep_initial=True
            )
            info = {
                **info,
                "fine_tuned": True,
                "neurons_kept_before_fine_tuning": info.pop("neurons_kept"),
            }
            yield config, tuned, info
