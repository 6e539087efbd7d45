"""Feature attribution: KernelSHAP over Spark, the model it explains, the NDCG drift check."""
