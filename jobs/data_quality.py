"""spark-submit entry point: ``spark-submit jobs/data_quality.py --dataset CAPTURE_ROOT --baseline-constraints ...``.

Takes the same flags as ``model-monitor monitor``; Spark settings come from spark-submit.
"""

import sys

from monitor_lib.cli import main

if __name__ == "__main__":
    sys.exit(main(["monitor", *sys.argv[1:]]))
