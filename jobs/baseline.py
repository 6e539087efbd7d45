"""spark-submit entry point: ``spark-submit jobs/baseline.py --dataset ... --format csv --header --output ...``.

Takes the same flags as ``model-monitor baseline``; Spark settings come from spark-submit.
"""

import sys

from monitor_lib.cli import main

if __name__ == "__main__":
    sys.exit(main(["baseline", *sys.argv[1:]]))
