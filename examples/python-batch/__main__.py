"""Churn scoring for the ml-platform team: the mlops-component library, configured in code.

The team owns the mapping from its two stack settings to the pipeline; everything else keeps the library's
defaults (bring-your-own XGBoost image, Glue Python shell ETL, versioned and encrypted stores).
"""

import pulumi

from mlops_component import MlOpsConfig, MlOpsPipeline

stack = pulumi.get_stack()
settings = pulumi.Config()

pipeline = MlOpsPipeline(
    "mlops",
    MlOpsConfig(
        name_prefix=f"churn-{stack}",
        job_name="churn",
        resource_tags={"team": "ml-platform", "stack": stack},
        endpoint_or_batch_transform="Batch Transform",
        tuning_metric="accuracy",
        max_number_training_jobs=settings.get_int("maxTrainingJobs") or 3,
        max_parallel_training_jobs=2,
        inference_metric_threshold=settings.get_float("accuracyThreshold") or 0.8,
        # Our nightly export lands train.csv and score.csv in the feature store; Pulumi uploads no data.
        train_local_path=None,
        score_local_path=None,
    ),
)

pulumi.export("bucket_names", pipeline.bucket_names)
pulumi.export("state_machine_arn", pipeline.state_machine_arn)
pulumi.export("summary", pipeline.summary)
