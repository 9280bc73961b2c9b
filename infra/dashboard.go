package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// dashboard puts on one CloudWatch dashboard (named after the stack) every
// alarm, each drawn as its metric against its threshold, then the traffic an
// operator reads them beside: requests, 4xx/5xx and latency of the API, and
// the duration of each function. A dashboard costs $3 a month beyond the
// account's first three, and nothing to read.
func dashboard(scope constructs.Construct, stackName string, alarms []awscloudwatch.Alarm, api awsapigatewayv2.HttpApi, fns map[string]awslambda.Function) {
	d := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(stackName),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	period := awscdk.Duration_Minutes(jsii.Number(1))
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}
	d.AddWidgets(
		awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
			Markdown: jsii.String("# " + stackName + "\nAlarms first (metric against threshold), then traffic. README: Operations."),
			Width:    jsii.Number(24), Height: jsii.Number(2),
		}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("API requests and errors"), Width: jsii.Number(12),
			Left: &[]awscloudwatch.IMetric{api.MetricCount(sum), api.MetricClientError(sum), api.MetricServerError(sum)},
		}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("API latency (p50, p99)"), Width: jsii.Number(12),
			Left: &[]awscloudwatch.IMetric{
				api.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p50"), Period: period}),
				api.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: period}),
			},
		}),
	)
	var durations []awscloudwatch.IMetric
	for _, name := range functionNames() {
		durations = append(durations, fns[name].MetricDuration(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("p99"), Period: period, Label: jsii.String(name + " p99"),
		}))
	}
	d.AddWidgets(awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Function duration (p99)"), Width: jsii.Number(24), Left: &durations,
	}))
	widgets := make([]awscloudwatch.IWidget, 0, len(alarms))
	for _, a := range alarms {
		widgets = append(widgets, awscloudwatch.NewAlarmWidget(&awscloudwatch.AlarmWidgetProps{
			Alarm: a, Title: a.AlarmName(), Width: jsii.Number(8),
		}))
	}
	d.AddWidgets(widgets...)
}
