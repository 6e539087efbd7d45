"""Every file name the tool writes, defined once. Imports nothing: any module may use it."""

STATISTICS = "statistics.json"
CONSTRAINTS = "constraints.json"
VIOLATIONS = "constraint_violations.json"
ANALYSIS = "analysis.json"  # Clarify's: the model-bias metrics (a baseline's is the constraints of monitoring runs)
PROFILE = "profile.json"  # the mergeable profile state
QUALITY_STATE = "model_quality_state.json"  # model quality's mergeable counts and sums (monitor_lib.quality.state)
RUN_SUMMARY = "run_summary.json"
REPORT = "report.html"
REJECTED_SAMPLE = "rejected_records_sample.jsonl"
CLOUDWATCH_METRICS = "cloudwatch_metrics.jsonl"  # in the CloudWatch metrics directory
MERGE_SUMMARY = "_merge_summary.json"  # "_": not data, an analysis of the merged records skips it
MERGED_SAMPLE = "_merge_sample.jsonl"
MERGE_FOLDER = "merge"  # under output_path, when a model-quality run merges before it analyses
HISTORY = "history.html"
LINEAGE = "lineage.json"  # the run's inputs with their digests, the code version, the parameters
OPENLINEAGE_EVENTS = "openlineage_events.jsonl"  # the run's OpenLineage RunEvents, one JSON per line
EXIT_MESSAGE = "output/message"  # under the /opt/ml root

# In a run folder while the run is not whole (an s3:// run being uploaded, a killed upload): readers ignore it.
INCOMPLETE = "_INCOMPLETE"

# Uploaded after every other file of an s3:// output, in this order: their presence says the run is complete.
PUBLISHED_LAST = (MERGE_SUMMARY, RUN_SUMMARY, REPORT)
