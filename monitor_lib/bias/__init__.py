"""Model bias: Clarify's bias metrics, computed from one Spark aggregation."""
