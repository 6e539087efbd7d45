"""spark-submit entry point: ``spark-submit jobs/model_monitor.py COMMAND [--type T] FLAGS``.

Any command of ``model-monitor`` (``baseline``, ``monitor``, ``merge``, ``analyze``, …) with the same flags, for
every registered monitor type; Spark settings come from spark-submit.
"""

import sys

from monitor_lib.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
