"""The code that runs in AWS Lambda: one module per function, plus `common` (shared by all of them).

Each function's deployment package is this package with its own module and `common.py`; the handler string is
`functions.<module>.handler` (runtime python3.12, boto3 from the runtime, no other dependencies). Modules never
import each other, only `functions.common`, so any one of them can be packaged alone.

- `trigger`: S3 ObjectCreated notification -> StartExecution of the training workflow.
- `run_metadata`: the tuning job's best model path, metrics and hyperparameters -> the metadata store.
- `register_model`: a model that passed the gate -> a version in the model package group (once per run).
- `endpoint`: create or update the real-time endpoint.
- `rename_output`: every `<score file or part>.out` of a batch transform run -> `<stem>.csv`.
"""
