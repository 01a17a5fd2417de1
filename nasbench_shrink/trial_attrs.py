"""The names a run stores its results under in an Optuna study: one definition for the writers (the objective,
the samplers, the simulated clock) and the readers (the budget rule, the summaries, the report, the dashboard).

User attrs are what optuna-dashboard shows; the ``nbs:``-prefixed system attrs are the project's bookkeeping.
``tests/test_architecture.py`` fails on an attribute named by a string literal anywhere else.

Example:
    >>> from nasbench_shrink import trial_attrs as ta
    >>> ta.ARCH_KEY, ta.PROPOSAL
    ('arch_key', 'nbs:proposal')
"""

from __future__ import annotations

# --- a trial's user attrs, written by the objective from the evaluation record ---
SCORE = "score"  # the paper's score at the run's λ (every study records it, whatever it optimises)
MACS = "macs"
PARAMS = "params"
RESOURCE = "resource"  # what the score's cost term counts (MACs, or the RNN's edges·H²)
COST_S = "cost_s"  # measured seconds of the evaluation (a table's: the architecture's, on its reference machine)
TRAIN_FLOPS = "train_flops"  # deterministic cost: 3 · MACs · examples trained
CACHE_HIT = "cache_hit"
ARCH_KEY = "arch_key"  # the canonical architecture key
EDGES = "edges"  # active edges of the cell
CELL = "cell"  # the cell as a dict (``Cell.to_dict``)
EPOCHS = "epochs"
DIVERGED = "diverged"
BENCHMARK = "benchmark"
EVAL_SEED = "eval_seed"  # the seed the evaluation answered with (a table's recorded seed)
REPEAT = "repeat"  # this trial repeated an architecture the run had evaluated (free)
REPEAT_OF = "repeat_of"  # ... the number of the trial that evaluated it
PRUNED_AT_EPOCH = "pruned_at_epoch"  # a pruner stopped this evaluation after that many epochs
# where a trial ran on the clock: real seconds since the epoch when trained live, simulated seconds from the
# run's start on a simulated clock (``runs.clock``)
CLOCK_START = "clock_start"
CLOCK_END = "clock_end"
CLOCK_WORKER = "clock_worker"
SAMPLER_S = "sampler_s"  # on a simulated clock with the sampler's time: real seconds its decision took

# --- a trial's user attrs, copied from the strategy's proposal ---
STEP = "step"  # AutoShrink: the shrinking step
REMOVED_EDGE = "removed_edge"
PARENT_KEY = "parent_key"
PARENT = "parent"
RESTART = "restart"  # AutoShrink with restarts or a λ sweep: which run of the strategy
LAM = "lam"
PROXY_COST_S = "proxy_cost_s"  # a strategy's own proxy work for this proposal (zero-cost scores), charged too
PROXY_FLOPS = "proxy_flops"
WORKER = "worker"  # host:pid of the process that proposed it

# --- a trial's system attrs ---
PROPOSAL = "nbs:proposal"  # {"cell": cell dict, **the strategy's attrs}, written in one storage write
SKIP = "nbs:skip"  # the strategy has nothing left; the objective prunes this trial
CLAIM = "autoshrink:claim"  # AutoShrink on several workers: [step, i, j] of the candidate claimed, or None

# --- a study's user attrs ---
SETTINGS = "nbs:settings"  # the settings a study was created with; a rerun must ask for the same
BUDGET = "nbs:budget"  # {"kind", "amount"}: the budget the study runs to; changed only by an explicit extend
CLOCK = "clock"  # a simulated clock's summary (workers, makespan, ...)
NODES = "nodes"
