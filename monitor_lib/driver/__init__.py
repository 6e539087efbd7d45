"""Run the jobs somewhere else: ``model-monitor submit --target local|standalone|emr|sagemaker``.

``package`` builds what a cluster needs (a zip of ``monitor_lib`` for ``--py-files`` and the job entry
scripts); ``jobspec`` turns ``submit``'s job and job flags into the entry script, its arguments and the
SageMaker parameters; ``spark_submit``, ``emr`` and ``sagemaker`` submit and follow a run; ``submit``
is the command line.
"""
