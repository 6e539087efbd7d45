"""HTML reports: one page per run (run.py) and the history of many runs (history.py)."""
