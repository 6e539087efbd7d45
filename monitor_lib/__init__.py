"""spark-model-monitor: an open, Spark-native replacement for the SageMaker Model Monitor analyzer."""

__version__ = "0.1.0"
