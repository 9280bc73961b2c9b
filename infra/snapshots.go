package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// snapshotsTimeoutSeconds bounds one run of the snapshot job: a few reads
// and a write per live experiment, so minutes cover thousands of them.
const snapshotsTimeoutSeconds = 300

// snapshotsSchedule runs the snapshot job every hour: each run rewrites
// today's snapshot of every live experiment's counters, so a day's point in
// results/timeseries is at most an hour short of its midnight, and a
// guardrail breach pauses an opted-in experiment within the hour even if
// nobody reads its results. A failed run is retried twice by EventBridge
// and counted by the function's error alarm.
func snapshotsSchedule(scope constructs.Construct, fn awslambda.Function) {
	awsevents.NewRule(scope, jsii.String("SnapshotsSchedule"), &awsevents.RuleProps{
		Description: jsii.String("abtest: hourly snapshot of the experiments' counters (results/timeseries) and guardrail breakers"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(2),
		})},
	})
}
