"""Model quality: metrics from ground-truth-merged inferences (spec §2.2, §2.3, §8)."""
