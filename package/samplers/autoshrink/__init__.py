from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

__all__ = ["AutoShrinkSampler"]
