"""``python -m nasbench_shrink.cli``: the same as the ``nasbench-shrink`` command."""

from nasbench_shrink.cli import main

main()
