"""RNN cells from DAGs (paper §3.2 Eq. 2–3, official AutoShrink RNN code's structure).

Node 0 mixes the word embedding ``x_t`` and the previous hidden state ``h_{t-1}`` through a highway step:
``c = σ([x, h]·W_c)``, ``s_0 = h + c ⊙ (tanh([x, h]·W_h) − h)``. Every other active node ``n`` with inputs ``P``
gives each incoming state its own gate and transform, ``c_i = σ(s_i·W¹_in)``, and averages the highway outputs
(aggregation normalised by the number of inputs):

    s_n = (1/|P|) Σ_i  c_i ⊙ a_n(s_i·W²_in) + (1 − c_i) ⊙ s_i

with ``a_n`` ∈ {relu, sigmoid, tanh, identity}. The new hidden state is the mean of the leaves. The language model
is embedding → cell unrolled over time → linear decoder tied to the embedding. All gate/transform matrices that
read the same source node are fused into one matmul.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.cell import Cell
from search_spaces.configs import RNNConfig

ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda x: x}


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Variational dropout: one mask per sequence, shared over time (x: T×B×H)."""
    if not training or p <= 0:
        return x
    mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - p) / (1 - p)
    return x * mask


def embedding_dropout(embed: nn.Embedding, words: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Drop whole word types from the embedding matrix (Gal & Ghahramani 2016)."""
    weight = embed.weight
    if training and p > 0:
        mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - p) / (1 - p)
        weight = weight * mask
    return F.embedding(words, weight)


class DAGRNNCell(nn.Module):
    """One step of the DAG cell: ``(x_t, h_{t-1}) -> h_t``."""

    def __init__(self, cell: Cell, emb_size: int, hidden_size: int) -> None:
        super().__init__()
        if cell.space != "rnn":
            raise ValueError(f"an RNN cell needs an 'rnn' cell, got a {cell.space!r} cell")
        p = cell.pruned()
        self.hidden_size = hidden_size
        self.w0 = nn.Linear(emb_size + hidden_size, 2 * hidden_size, bias=False)
        self.order = [n for n in p.active_nodes if n != 0]
        self.preds = {n: p.predecessors(n) for n in self.order}
        self.acts = {n: cell.ops[n] for n in self.order}
        succ: dict[int, list[int]] = {}
        for i, j in p.edges:
            succ.setdefault(i, []).append(j)
        self.succ = {i: tuple(js) for i, js in succ.items()}
        # one fused (H x 2H·outdeg) matrix per source node: [gate | transform] for each out-edge
        self.w = nn.ParameterDict(
            {str(i): nn.Parameter(torch.empty(hidden_size, 2 * hidden_size * len(js))) for i, js in self.succ.items()}
        )
        self.leaves = p.leaves
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / self.hidden_size**0.5
        for w in self.w.values():
            nn.init.uniform_(w, -bound, bound)
        nn.init.uniform_(self.w0.weight, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        H = self.hidden_size
        c0, t0 = self.w0(torch.cat([x, h], dim=-1)).split(H, dim=-1)
        states = {0: h + torch.sigmoid(c0) * (torch.tanh(t0) - h)}
        incoming: dict[int, list[torch.Tensor]] = {}

        def emit(i: int) -> None:
            js = self.succ.get(i)
            if not js:
                return
            s = states[i]
            proj = (s @ self.w[str(i)]).view(*s.shape[:-1], len(js), 2, H)
            for k, j in enumerate(js):
                c = torch.sigmoid(proj[..., k, 0, :])
                a = ACTIVATIONS[self.acts[j]](proj[..., k, 1, :])
                incoming.setdefault(j, []).append(s + c * (a - s))

        emit(0)
        for n in self.order:
            parts = incoming.pop(n)
            states[n] = parts[0] if len(parts) == 1 else torch.stack(parts).mean(0)
            emit(n)
        if len(self.leaves) == 1:
            return states[self.leaves[0]]
        return torch.stack([states[n] for n in self.leaves]).mean(0)


class RNNModel(nn.Module):
    """Embedding → DAG cell over time → tied linear decoder."""

    def __init__(self, cell: Cell, config: RNNConfig = RNNConfig()) -> None:
        super().__init__()
        if config.emb_size != config.hidden_size:
            raise ValueError("tied embedding and decoder need emb_size == hidden_size")
        self.config = config
        self.encoder = nn.Embedding(config.vocab_size, config.emb_size)
        self.cell = DAGRNNCell(cell, config.emb_size, config.hidden_size)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def init_hidden(self, batch_size: int) -> torch.Tensor:
        return self.encoder.weight.new_zeros(batch_size, self.config.hidden_size)

    def forward(self, words: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``words``: T×B token ids; returns logits T×B×V and the last hidden state B×H."""
        c = self.config
        emb = embedding_dropout(self.encoder, words, c.dropout_emb, self.training)
        emb = locked_dropout(emb, c.dropout_in, self.training)
        h_mask = None
        if self.training and c.dropout_hidden > 0:
            h_mask = hidden.new_empty(hidden.shape).bernoulli_(1 - c.dropout_hidden) / (1 - c.dropout_hidden)
        outs = []
        h = hidden
        for t in range(words.size(0)):
            h = self.cell(emb[t], h if h_mask is None else h * h_mask)
            outs.append(h)
        out = locked_dropout(torch.stack(outs), c.dropout_out, self.training)
        return self.decoder(out), h


def build_rnn(cell: Cell, config: RNNConfig | None = None, **overrides) -> RNNModel:
    cfg = config or RNNConfig()
    if overrides:
        cfg = RNNConfig(**{**cfg.to_dict(), **overrides})
    return RNNModel(cell, cfg)


def rnn_params(cell: Cell, config: RNNConfig) -> int:
    """Closed-form parameter count: embedding (tied decoder) + decoder bias + input step + 2·H² per active edge."""
    H, E, V = config.hidden_size, config.emb_size, config.vocab_size
    return V * E + V + (E + H) * 2 * H + len(cell.active_edges) * 2 * H * H
