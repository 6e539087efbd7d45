"""spark-submit entry point for model quality:

    spark-submit jobs/model_quality.py baseline --dataset validation.csv --header --problem-type ... --output ...
    spark-submit jobs/model_quality.py monitor --dataset CAPTURE_ROOT --ground-truth LABELS_ROOT ...
    spark-submit jobs/model_quality.py merge --dataset CAPTURE_ROOT --ground-truth LABELS_ROOT --output ...

The flags are those of ``model-monitor baseline|monitor|merge``, with ``--analysis-type model-quality``
implied; Spark settings come from spark-submit.
"""

import sys

from monitor_lib.cli import main

COMMANDS = ("baseline", "monitor", "merge")

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] not in COMMANDS:
        print(f"usage: spark-submit jobs/model_quality.py {{{','.join(COMMANDS)}}} [flags]", file=sys.stderr)
        sys.exit(2)
    command, rest = args[0], args[1:]
    sys.exit(main([command, *rest] if command == "merge" else [command, "--analysis-type", "model-quality", *rest]))
