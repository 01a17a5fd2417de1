"""Zero-cost proxies: a score of an untrained network from one minibatch, each written from its paper.

Every function takes the network (freshly initialised; the caller seeds it), a minibatch ``x`` (N, C, H, W,
float32, normalised as for training) and its labels ``y``, and returns one float. Each works on a copy or restores
what it changes, so one network serves them all in turn. Networks are put in train mode (batch statistics), as
the references compute them, except where a definition says otherwise.

- ``synflow`` (Tanaka et al., 2020, "Pruning neural networks without any data by iteratively conserving synaptic
  flow"): every parameter replaced by its absolute value, the input an all-ones tensor of one example's shape,
  R = the sum of the output; score Σ |θ ⊙ ∂R/∂θ|. Batch normalisation in eval mode (fresh statistics: the identity),
  so the input's scale flows through as the paper's linear network.
- ``snip`` (Lee et al., 2019, SNIP): Σ |θ ⊙ ∂L/∂θ| with L the cross-entropy of the minibatch.
- ``grad_norm`` (Abdelfattah et al., 2021, "Zero-cost proxies for lightweight NAS"): ‖∂L/∂θ‖₂ over all parameters.
- ``fisher`` (Theis et al., 2018; Turner et al., 2020): for each convolution's output a and its gradient g, per
  channel c: ½ · mean over the batch of (Σ_hw a·g)²; summed over channels and layers.
- ``grasp`` (Wang et al., 2020, GraSP): −Σ θ ⊙ (H g), g = ∂L/∂θ and H g the Hessian-gradient product (a second
  backward pass).
- ``jacov`` (Mellor et al., 2020, NASWOT v1 "Jacobian covariance"): per example the gradient of the summed output
  with respect to its input, flattened; their correlation matrix's eigenvalues λ; score −Σ (log(λ + k) + 1/(λ + k)),
  k = 1e-5.
- ``nwot`` (Mellor et al., 2021, NASWOT): each example's binary code of which ReLUs are active; K[i, j] = the number
  of units where the codes of i and j agree; score log |det K|.
- ``zen`` (Lin et al., 2021, Zen-NAS): with Gaussian inputs x and ε, Δ = mean over the batch of ‖f(x) − f(x + αε)‖
  (α = 0.01, f = the features the classifier reads); score log(Δ / α) + Σ over batch-norm layers of
  log √(mean of the batch variance).
- ``l2_norm``: ‖θ‖₂ at initialisation.
- ``params``, ``macs``: the network's parameter count and forward multiply-accumulates (counted elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["MEASURES", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "snip", "synflow", "zen"]


def _params(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _loss_grads(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, create_graph: bool = False):
    model.train()
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    return torch.autograd.grad(loss, _params(model), create_graph=create_graph, allow_unused=True)


def synflow(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    signs = {}
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point():
                signs[name] = torch.sign(p)
                p.abs_()
    try:
        model.eval()
        out = model(torch.ones_like(x[:1]))
        params = _params(model)
        grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
        return float(sum((p.detach() * g).abs().sum() for p, g in zip(params, grads) if g is not None))
    finally:
        with torch.no_grad():
            for name, p in model.state_dict().items():
                if name in signs:
                    p.mul_(signs[name])


def snip(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    grads = _loss_grads(model, x, y)
    return float(sum((p.detach() * g).abs().sum() for p, g in zip(_params(model), grads) if g is not None))


def grad_norm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    grads = _loss_grads(model, x, y)
    return float(math.sqrt(sum(float((g * g).sum()) for g in grads if g is not None)))


def fisher(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    acts: list[torch.Tensor] = []

    def keep(_m, _i, out):
        out.retain_grad()
        acts.append(out)

    hooks = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    finally:
        for h in hooks:
            h.remove()
    total = 0.0
    for a in acts:
        if a.grad is not None:
            total += float((0.5 * (a.detach() * a.grad).sum(dim=(2, 3)).pow(2).mean(dim=0)).sum())
    model.zero_grad(set_to_none=True)
    return total


def grasp(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    params = _params(model)
    grads = _loss_grads(model, x, y, create_graph=True)
    pairs = [(p, g) for p, g in zip(params, grads) if g is not None]
    z = sum((g * g.detach()).sum() for _, g in pairs)
    hg = torch.autograd.grad(z, [p for p, _ in pairs], allow_unused=True)
    return float(-sum((p.detach() * h).sum() for (p, _), h in zip(pairs, hg) if h is not None))


def jacov(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, k: float = 1e-5) -> float:
    model.train()
    x = x.clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(model(x).sum(), x)
    return jacov_of(jac.reshape(jac.shape[0], -1), k)


def jacov_of(jac: torch.Tensor, k: float = 1e-5) -> float:
    """NASWOT v1's score of per-example Jacobian rows ``jac`` (N × D)."""
    corr = torch.corrcoef(jac.double())
    corr = torch.nan_to_num(corr, nan=0.0)
    eig = torch.linalg.eigvalsh(corr)
    return float(-torch.sum(torch.log(eig + k) + 1.0 / (eig + k)))


def nwot(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    codes: list[torch.Tensor] = []

    def keep(_m, _i, out):
        codes.append((out.detach() > 0).reshape(out.shape[0], -1))

    hooks = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        model.train()
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    if not codes:
        return 0.0
    return nwot_of(torch.cat(codes, dim=1))


def nwot_of(codes: torch.Tensor) -> float:
    """NASWOT's log |det K| of binary activation codes ``codes`` (N × units): K[i, j] = units where i, j agree."""
    c = codes.double()
    agree = c @ c.T + (1 - c) @ (1 - c).T
    return float(torch.linalg.slogdet(agree)[1])


def zen(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, alpha: float = 0.01) -> float:
    classifier = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    feats: list[torch.Tensor] = []
    hook = classifier.register_forward_hook(lambda _m, inp, _o: feats.append(inp[0]))
    variances: list[torch.Tensor] = []
    bn_hooks = [
        m.register_forward_hook(lambda m, inp, _o: variances.append(inp[0].var(dim=(0, 2, 3))))
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ]
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=gen)
    eps = torch.randn(x.shape, generator=gen)
    try:
        model.train()
        with torch.no_grad():
            model(noise)
            n_bn = len(variances)
            model(noise + alpha * eps)
    finally:
        hook.remove()
        for h in bn_hooks:
            h.remove()
    delta = float(torch.linalg.vector_norm(feats[0] - feats[1], dim=1).mean())
    bn = sum(math.log(math.sqrt(float(v.mean()))) for v in variances[:n_bn] if float(v.mean()) > 0)
    return math.log(max(delta, 1e-30) / alpha) + bn


def l2_norm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(math.sqrt(sum(float((p.detach() ** 2).sum()) for p in _params(model))))


MEASURES: dict[str, Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "synflow": synflow,
    "snip": snip,
    "grad_norm": grad_norm,
    "fisher": fisher,
    "grasp": grasp,
    "jacov": jacov,
    "nwot": nwot,
    "zen": zen,
    "l2_norm": l2_norm,
}
