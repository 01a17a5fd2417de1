"""Language modelling as a training task for the shared loop: truncated BPTT over batched token streams."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nasbench_shrink.benchmarks.ptb import batchify
from nasbench_shrink.evaluation.training import TrainRecipe


class LMTask:
    """Train on ``train`` tokens, validate perplexity on ``val`` tokens (lower is better)."""

    metric_name = "val_ppl"
    higher_is_better = False

    def __init__(
        self,
        train: torch.Tensor,
        val: torch.Tensor,
        recipe: TrainRecipe,
        device: torch.device,
        eval_batch_size: int = 10,
    ) -> None:
        self.recipe = recipe
        self.device = device
        self.train = batchify(train, recipe.batch_size).to(device)
        self.val = batchify(val, eval_batch_size).to(device)
        self.n_train = int(self.train.numel())
        self.bptt = recipe.bptt

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil((self.train.size(0) - 1) / self.bptt))

    def epoch(self, model: nn.Module, gen: torch.Generator):
        hidden = model.init_hidden(self.train.size(1))
        vocab = model.config.vocab_size
        for i in range(0, self.train.size(0) - 1, self.bptt):
            n = min(self.bptt, self.train.size(0) - 1 - i)
            x, y = self.train[i : i + n], self.train[i + 1 : i + 1 + n]
            logits, hidden = model(x, hidden)
            hidden = hidden.detach()
            yield F.cross_entropy(logits.view(-1, vocab), y.reshape(-1)), n * x.size(1), None

    @torch.no_grad()
    def validate(self, model: nn.Module) -> tuple[float, float]:
        return evaluate_lm(model, self.val, self.bptt)


@torch.no_grad()
def evaluate_lm(model: nn.Module, data: torch.Tensor, bptt: int = 35) -> tuple[float, float]:
    """(perplexity, mean cross-entropy) of ``model`` on batchified tokens ``data``."""
    model.eval()
    hidden = model.init_hidden(data.size(1))
    vocab = model.config.vocab_size
    total = torch.zeros((), device=data.device)
    count = 0
    for i in range(0, data.size(0) - 1, bptt):
        n = min(bptt, data.size(0) - 1 - i)
        logits, hidden = model(data[i : i + n], hidden)
        total += F.cross_entropy(logits.view(-1, vocab), data[i + 1 : i + 1 + n].reshape(-1), reduction="sum")
        count += n * data.size(1)
    model.train()
    loss = (total / max(count, 1)).item()
    return (math.exp(loss) if loss < 700 else math.inf), loss
