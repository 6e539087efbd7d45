"""(being built)"""

SINKS: list = []
