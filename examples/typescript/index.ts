// The MLOps pipeline from TypeScript. `pulumi package add ../..` generates the `@pulumi/mlops` SDK this imports
// from the package schema (`mlops package-schema` prints it); its inputs are the stack config keys.
import * as mlops from "@pulumi/mlops";

const pipeline = new mlops.MlOpsPipeline("mlops", {
    jobName: "employee-attrition",
    namePrefix: "mlops-ts",
    resourceTags: { project: "employee-attrition", environment: "dev" },
    endpointOrBatchTransform: "Create Model Endpoint Config",
    tuningMetric: "accuracy",
    tuningObjective: "Maximize",
    inferenceComparisonOperator: "NumericGreaterThan",
    inferenceMetricThreshold: 0.7,
    maxNumberTrainingJobs: 3,
    staticHyperparameters: { kfold_splits: "5" },
    parameterRanges: {
        IntegerParameterRanges: [{ Name: "max_depth", MinValue: "1", MaxValue: "10", ScalingType: "Auto" }],
    },
});

export const bucketNames = pipeline.bucketNames;
export const stateMachineArn = pipeline.stateMachineArn;
export const summary = pipeline.summary;
