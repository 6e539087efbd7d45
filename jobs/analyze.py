"""spark-submit entry point that behaves like the SageMaker analyzer container (``model-monitor analyze``)."""

import sys

from monitor_lib.cli import main

if __name__ == "__main__":
    sys.exit(main(["analyze", *sys.argv[1:]]))
