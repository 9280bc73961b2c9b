package main

// The abtest stack, top to bottom: settings per stage, the permission table,
// the DynamoDB table, one Lambda per function, the HTTP API with one route
// per routes.All entry, alarms, outputs and the cdk-nag suppressions. With
// -c sessionHs256=true (dev) also a generated session secret.
//
// Routes, function names and the table's key and index names are imported
// from shared/routes and shared/store, never repeated here, so the deployed
// API and table cannot drift from the code.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/routes"
)

// Config is everything the stack depends on. main fills it from the CDK
// context (-c stage=prod ...); tests fill it directly.
type Config struct {
	Stage         string   // "dev" or "prod"; names the stack abtest-<stage>
	Tracing       bool     // X-Ray active tracing on every function
	AlarmEmail    string   // subscribe this address to the alarm topic
	AlarmTopicArn string   // send alarms to this existing SNS topic
	CorsOrigins   []string // allowed CORS origins; empty = no CORS
	// ThrottleRate and ThrottleBurst override the stage's API throttling
	// (requests per second, burst) when > 0.
	ThrottleRate, ThrottleBurst float64
	// BuildDir holds <function>/bootstrap for every function, as `make build`
	// lays it out (<repo>/build). Absolute, so synth works from any folder.
	BuildDir string
	// Session says how the authorizer verifies end-user session tokens.
	Session SessionConfig
	// RetentionDays keeps exposure and event items this long (DynamoDB TTL);
	// 0 means store.DefaultRetentionDays.
	RetentionDays int
}

// SessionConfig is the authorizer's session settings (context keys
// sessionJwksUrl, sessionIssuer, sessionAudience, sessionLeeway, and
// sessionHs256=true for the dev stage only). Without any, admin keys work
// and client calls are refused until it is set.
type SessionConfig struct {
	JWKSURL, Issuer, Audience, Leeway string
	// AdminRoleClaim and AdminRoleValue: the claim of a token (verified as
	// sessions are) that makes its subject an admin, and its value
	// (context adminJwtRoleClaim, adminJwtRoleValue; defaults "role",
	// "admin").
	AdminRoleClaim, AdminRoleValue string
	// HS256: the stack generates a shared secret in AWS Secrets Manager and
	// the authorizer reads it at cold start; the function's environment holds
	// only its ARN (auth.EnvSessionSecretARN). Dev stage only.
	HS256 bool
}

// check refuses the combinations the stack must never deploy.
func (c SessionConfig) check(stage string) error {
	if c.HS256 && (stage != "dev" || c.JWKSURL != "") {
		// Anyone who can read the secret can mint any user's session: dev
		// only, and never next to a real identity provider.
		return fmt.Errorf("infra: -c sessionHs256=true is for the dev stage only and excludes sessionJwksUrl; use sessionJwksUrl")
	}
	if c.JWKSURL != "" && (c.Issuer == "" || c.Audience == "") {
		// Without both, any token the identity provider mints for another
		// application would be accepted; the authorizer refuses to start.
		return fmt.Errorf("infra: -c sessionJwksUrl needs -c sessionIssuer and -c sessionAudience")
	}
	return nil
}

// env is the authorizer's plain session settings; the secret's ARN is added
// by NewStack. No secret value ever goes into an environment.
func (c SessionConfig) env() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		auth.EnvSessionJWKSURL: c.JWKSURL, auth.EnvSessionIssuer: c.Issuer, auth.EnvSessionAudience: c.Audience,
		auth.EnvSessionLeeway: c.Leeway, auth.EnvAdminRoleClaim: c.AdminRoleClaim, auth.EnvAdminRoleValue: c.AdminRoleValue,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// sessionSecretLength is the generated HS256 secret's length: 64 letters
// and digits, about 380 bits (auth needs at least 32 bytes).
const sessionSecretLength = 64

// StackName is the CloudFormation stack name of a stage.
func StackName(stage string) string { return "abtest-" + stage }

// Per-stage settings. Only these two stages exist; anything else is an error.
type stageSettings struct {
	logRetention awslogs.RetentionDays
	protect      bool // table: RETAIN + deletion protection; log groups kept
	logLevel     string
	// Stage-wide API throttling (requests per second, burst). The account
	// default is 10,000 rps; these keep a runaway client from running up the
	// on-demand DynamoDB bill. Raise them with real traffic numbers.
	throttleRate, throttleBurst float64
}

var stages = map[string]stageSettings{
	"dev":  {logRetention: awslogs.RetentionDays_ONE_WEEK, protect: false, logLevel: "debug", throttleRate: 50, throttleBurst: 100},
	"prod": {logRetention: awslogs.RetentionDays_THREE_MONTHS, protect: true, logLevel: "info", throttleRate: 1000, throttleBurst: 2000},
}

// Function sizing, the same for every function.
const (
	// 256 MB on arm64 (Graviton) costs about 20% less per GB-second than
	// x86 and gives enough CPU share for JSON, SHA-256 bucketing and the AWS
	// SDK: cold start and p99 stop improving noticeably above it, while 128 MB
	// doubles SDK init time. Lambda CPU scales with memory.
	functionMemoryMB = 256
	// 10 s: longer than the SDK's retry budget (3 attempts with backoff,
	// well under 5 s against DynamoDB) so a slow call fails inside the
	// function with a logged error rather than as a bare Lambda timeout, and
	// far below the HTTP API's 30 s integration limit.
	functionTimeoutSeconds = 10
)

// extraFunctions are functions no route serves; each gets a Lambda like the
// route functions: the Lambda REQUEST authorizer in front of every route,
// the aggregator fed by the table's change stream, and the hourly
// snapshots of the counters.
var extraFunctions = []string{routes.Authorizer, routes.Aggregator, routes.Snapshots}

// functionNames lists every function the stack creates: the route functions
// in route order, the web console's, then the extra ones.
func functionNames() []string {
	return slices.Concat(routes.Functions(), []string{routes.ConsoleAssets}, extraFunctions)
}

// tableIndexes are the table's global secondary indexes (projection ALL).
var tableIndexes = []struct{ name, pk, sk string }{
	{store.GSI1, store.AttrGSI1PK, store.AttrGSI1SK},
	{store.GSI2, store.AttrGSI2PK, store.AttrGSI2SK},
}

// permission is what one function may do on the table: exactly these
// actions, on the table and on the named indexes only.
type permission struct {
	Actions []string
	Indexes []string // indexes it Queries; empty = base table only
}

// permissions is the least-privilege table: function -> exact DynamoDB
// actions, and the indexes it Queries. TransactWriteItems has no IAM action of
// its own: it needs the per-item actions (Put/Update/ConditionCheckItem). A
// function without an entry fails synth (and
// TestEveryFunctionHasAPermissionEntry). The comments name the shared/store
// calls each function makes; keep both in step.
var permissions = map[string]permission{
	// Definitions: the snapshot (Query on gsi1) and single reads (GetItem).
	// Saved groups (snapshot.Groups): SavedGroupsRevision (GetItem) and
	// AllSavedGroups (Query on the table). Holdouts: the snapshot (Query on
	// gsi1). GetAssignment: GetItem. CreateAssignment: a conditional
	// PutItem. RecordHeldOut: Query on the table (the unit's memberships)
	// and a conditional PutItem.
	routes.Assignment: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// Definitions and holdouts as above. GetAssignment: GetItem.
	// RecordExposure(For): PutItem and a transaction of Put and Updates (the
	// unit's items: exposure, assignment, holdout memberships).
	routes.Exposure: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// Definitions and holdouts as above; the live metrics (Query on gsi1).
	// UserAssignments, UnitMemberships: Query on the table. RecordEvent(For):
	// PutItem, or a transaction of Put and Updates (the unit's items).
	routes.Events: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// Create/SaveExperiment: transactions of Put and Update. GetExperiment,
	// StatusCounts: GetItem. ReadAggregates: BatchGetItem. ListExperiments:
	// Query on gsi1 (all) or gsi2 (by status). History: Query on the table.
	// Layers: PutItem (create), GetItem, Query on gsi1 (list), UpdateItem
	// (archive, and the allocation in experiments' transactions).
	// Saved groups: transactions of Put, Delete (chunks, deletion) and
	// Update (the revision); GetItem and Query on the table (read, list).
	// API keys: PutItem (create), UpdateItem (revoke), Query on gsi1 (list).
	// EraseUnit: Query on the table, BatchWriteItem (deletes); RecordErasure:
	// PutItem. Holdouts: Create/ArchiveHoldout, transactions of Put and
	// Update; GetHoldout: GetItem; UpdateHoldout: UpdateItem; ListHoldouts:
	// Query on gsi1. Flags: Create/SaveFlag, transactions of two Puts
	// (definition and audit entry); GetFlag: GetItem; ListFlags: Query on
	// gsi1; FlagHistory: Query on the table; the experiments an experiment
	// rule names: GetExperiment (GetItem).
	routes.Admin: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}, Indexes: []string{store.GSI1, store.GSI2}},
	// GetExperiment: GetItem. ReadAggregates, GetMetrics: BatchGetItem.
	// Recount: its job (PutItem, UpdateItem, Query on the table, and
	// BatchWriteItem deleting it), a parallel Scan of the table, LiveMetrics
	// (Query on gsi1), UpdateItem (the marks and metric values it
	// backfills), then a transaction of Puts replacing the counter shards.
	// Holdout results: GetHoldout (GetItem), ReadHoldoutCounts
	// (BatchGetItem).
	routes.Results: {Actions: []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
	// One-call evaluation: definitions, holdouts and flags as above (Query
	// on gsi1, GetItem), saved groups (GetItem, Query); UnitAssignments:
	// Query on the table; new enrolments as the assignment function
	// (conditional PutItem; RecordHeldOut: Query, PutItem); tracked
	// exposures as the exposure function (PutItem, or a transaction of Put
	// and Updates).
	routes.Evaluate: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// The MCP server: the experiments use case without history, keys,
	// erasure, saved groups or holdouts (as for Admin: GetItem, the
	// transactions' Put and Update, Query on gsi1 and gsi2, BatchGetItem of
	// the counters) and results (GetItem, BatchGetItem).
	routes.MCPServer: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchGetItem"}, Indexes: []string{store.GSI1, store.GSI2}},
	// Amplitude's remote evaluation (GET /v1/vardata): the one-call
	// evaluation, enrolling as above (it records no exposures, but wires
	// the same use case).
	routes.Amplitude: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// ABetterChoice's HTTP API (/abc/...): the one-call evaluation with
	// tracking, as above, and ClaimSignature (a conditional PutItem).
	routes.ABC: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
	// The classic Experiments API (/api/experiments): the experiments use
	// case (as for Admin: GetItem, the transactions' Put and Update, Query
	// on gsi1 and gsi2 for pages, StatusCounts: GetItem, the counters:
	// BatchGetItem), results (GetItem, BatchGetItem; a guardrail pause
	// saves as above) and saved groups (GetGroup: GetItem).
	routes.Classic: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchGetItem"}, Indexes: []string{store.GSI1, store.GSI2}},
	// The health check: Ping (GetItem of a key that never exists).
	routes.Health: {Actions: []string{"dynamodb:GetItem"}},
	// The web console's files: compiled into the function; no table access
	// at all (no dynamodb policy).
	routes.ConsoleAssets: {},
	// The authorizer: GetAPIKey (GetItem), TouchAPIKey (UpdateItem).
	routes.Authorizer: {Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}},
	// The aggregator: ApplyDeltas, a transaction of Updates (the stream
	// shard's checkpoint and experiments' and holdouts' counter shards);
	// GetMetrics (BatchGetItem), the shapes of the metrics units hold
	// values of. Reading the stream is granted by the event source mapping
	// below.
	routes.Aggregator: {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}},
	// The snapshots job: LiveExperiments (Query on gsi1), ReadAggregates
	// and GetMetrics (BatchGetItem), PutSnapshot (PutItem); the guardrail
	// breaker's pause as the admin function's (GetItem, a transaction of
	// Put and Update).
	routes.Snapshots: {Actions: []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
}

// timeoutSeconds is a function's timeout: functionTimeoutSeconds but for
// the scheduled job, which visits every live experiment.
func timeoutSeconds(name string) int {
	if name == routes.Snapshots {
		return snapshotsTimeoutSeconds
	}
	return functionTimeoutSeconds
}

// checkFunctions fails when a function has no permission entry or its
// binary is missing from buildDir.
func checkFunctions(names []string, buildDir string) error {
	for _, name := range names {
		if _, ok := permissions[name]; !ok {
			return fmt.Errorf("infra: function %q has no entry in the permissions table (infra/stack.go): add the exact DynamoDB actions it uses", name)
		}
	}
	for _, name := range names {
		bin := filepath.Join(assetDir(buildDir, name), "bootstrap")
		if st, err := os.Stat(bin); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("infra: %s is missing: run `make build` first (it builds every function as build/<name>/bootstrap)", bin)
		}
	}
	return nil
}

// assetDir is the folder deployed as a function's code: build/<name>, holding
// the single file bootstrap.
func assetDir(buildDir, name string) string { return filepath.Join(buildDir, name) }

// NewStack defines the stack abtest-<stage> in app.
func NewStack(app constructs.Construct, cfg Config) (awscdk.Stack, error) {
	st, ok := stages[cfg.Stage]
	if !ok {
		return nil, fmt.Errorf("infra: unknown stage %q (use -c stage=dev or -c stage=prod)", cfg.Stage)
	}
	if cfg.ThrottleRate > 0 {
		st.throttleRate = cfg.ThrottleRate
	}
	if cfg.ThrottleBurst > 0 {
		st.throttleBurst = cfg.ThrottleBurst
	}
	if err := cfg.Session.check(cfg.Stage); err != nil {
		return nil, err
	}
	names := functionNames()
	if err := checkFunctions(names, cfg.BuildDir); err != nil {
		return nil, err
	}
	stackName := StackName(cfg.Stage)
	stack := awscdk.NewStack(app, jsii.String(stackName), &awscdk.StackProps{
		StackName:   jsii.String(stackName),
		Description: jsii.String("abtest A/B experimentation service (" + cfg.Stage + ")"),
	})
	awscdk.Tags_Of(stack).Add(jsii.String("service"), jsii.String("abtest"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(cfg.Stage), nil)
	removal := awscdk.RemovalPolicy_DESTROY
	if st.protect {
		removal = awscdk.RemovalPolicy_RETAIN
	}

	// ---- Table: one table, CloudFormation names it. ----
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str(store.AttrPK),
		SortKey:      str(store.AttrSK),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(st.protect),
		RemovalPolicy:      removal,
		// The aggregator keeps the counters from this stream.
		Stream: awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES,
		// Exposure and event items expire (RETENTION_DAYS); the deletions
		// reach the stream but change no counter (they are not assignments).
		TimeToLiveAttribute: jsii.String(store.AttrExpiresAt),
	})
	for _, ix := range tableIndexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.name),
			PartitionKey:   str(ix.pk),
			SortKey:        str(ix.sk),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}

	// ---- Alarm topic (optional): -c alarmTopicArn=... and/or -c alarmEmail=... ----
	var topic awssns.ITopic
	switch {
	case cfg.AlarmTopicArn != "":
		topic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(cfg.AlarmTopicArn))
	case cfg.AlarmEmail != "":
		// Unencrypted on purpose: it carries only alarm notifications, and
		// CloudWatch cannot publish to a topic under the AWS-managed SNS key
		// (a customer-managed key would cost more than the topic is worth).
		topic = awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String(stackName + " alarms"),
			EnforceSSL:  jsii.Bool(true), // AwsSolutions-SNS3
		})
	}
	if topic != nil && cfg.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	var alarms []awscloudwatch.Alarm // every alarm, in order, for the dashboard
	alarm := func(scope constructs.Construct, id, name, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(stackName + "-" + name),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if topic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
			a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
		}
		alarms = append(alarms, a)
	}
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}

	// ---- Session secret (optional, dev): -c sessionHs256=true ----
	// Secrets Manager generates the value, so it is in neither the template
	// nor any environment; the authorizer gets the ARN and reads it at cold
	// start, and its role may read this secret only. A developer reads it
	// with `aws secretsmanager get-secret-value` to mint session tokens.
	var sessionSecret awssecretsmanager.Secret
	if cfg.Session.HS256 {
		sessionSecret = awssecretsmanager.NewSecret(stack, jsii.String("SessionHs256Secret"), &awssecretsmanager.SecretProps{
			Description: jsii.String("abtest HS256 session token secret (" + cfg.Stage + "), read by the authorizer at cold start"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(sessionSecretLength),
				ExcludePunctuation: jsii.Bool(true),
				IncludeSpace:       jsii.Bool(false),
			},
			RemovalPolicy: removal,
		})
		cdknag.NagSuppressions_AddResourceSuppressions(sessionSecret, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SMG4"),
			Reason: jsii.String("Dev-stage HS256 session secret (-c sessionHs256=true, refused in prod): rotating it would invalidate every issued dev session token; developers read it to mint tokens."),
		}}, jsii.Bool(true))
	}

	// ---- Signing secret: server keys' signing tokens derive from it. ----
	// Generated by Secrets Manager (in neither the template nor any
	// environment); the authorizer verifies signed requests with it and the
	// admin function shows a server key's token when it issues the key.
	// The table holds no token: apikey.SigningToken derives it.
	signingSecret := awssecretsmanager.NewSecret(stack, jsii.String("SigningSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("abtest signing secret (" + cfg.Stage + "): server keys' signing tokens derive from it; read by the authorizer and the admin function at cold start"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(sessionSecretLength),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
		RemovalPolicy: removal,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(signingSecret, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String("Rotating the signing secret would change every server key's signing token at once; issue a new key instead."),
	}}, jsii.Bool(true))

	// ---- Functions: one per name, each with its own log group and role. ----
	fns := map[string]awslambda.Function{}
	for _, name := range names {
		id := exportName(name)
		scope := constructs.NewConstruct(stack, jsii.String(id))
		logs := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
			Retention:     st.logRetention,
			RemovalPolicy: removal,
		})
		perm := permissions[name]
		resources := []*string{table.TableArn()}
		for _, ix := range perm.Indexes {
			resources = append(resources, jsii.String(*table.TableArn()+"/index/"+ix))
		}
		// The role is written out instead of the default one so that it holds
		// no managed policy (AWSLambdaBasicExecutionRole would allow writing to
		// any log group): logs go to this function's log group only, and the
		// table actions are exactly the permission table's.
		inline := map[string]awsiam.PolicyDocument{
			"logs": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
					Resources: &[]*string{logs.LogGroupArn()},
				}),
			}}),
		}
		if len(perm.Actions) > 0 {
			inline["dynamodb"] = awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings(perm.Actions...),
					Resources: &resources,
				}),
			}})
		}
		if name == routes.Authorizer || name == routes.Admin {
			// Exactly one action on exactly these secrets (the AWS-managed
			// key decrypts them for callers allowed to read them).
			readable := []*string{signingSecret.SecretArn()}
			if name == routes.Authorizer && sessionSecret != nil {
				readable = append([]*string{sessionSecret.SecretArn()}, readable...)
			}
			inline["secretsmanager"] = awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
					Resources: &readable,
				}),
			}})
		}
		role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
			AssumedBy:      awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description:    jsii.String("abtest " + name + " function (" + cfg.Stage + ")"),
			InlinePolicies: &inline,
		})
		env := map[string]*string{
			config.EnvTable:    table.TableName(),
			config.EnvLogLevel: jsii.String(st.logLevel),
		}
		if cfg.RetentionDays > 0 {
			env[config.EnvRetentionDays] = jsii.String(strconv.Itoa(cfg.RetentionDays))
		}
		if name == routes.Authorizer {
			for k, v := range cfg.Session.env() {
				env[k] = jsii.String(v)
			}
			if sessionSecret != nil {
				env[auth.EnvSessionSecretARN] = sessionSecret.SecretArn()
			}
		}
		if name == routes.Authorizer || name == routes.Admin {
			env[auth.EnvSigningSecretARN] = signingSecret.SecretArn()
		}
		if !st.protect {
			// Declared empty (= the SDK's normal endpoint) so that
			// `sam local --env-vars` can point it at DynamoDB Local: SAM only
			// overrides variables the template declares. Dev stage only.
			env[config.EnvEndpoint] = jsii.String("")
		}
		props := &awslambda.FunctionProps{
			Description:   jsii.String("abtest " + name + " (" + cfg.Stage + ")"),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(assetDir(cfg.BuildDir, name)), nil),
			MemorySize:    jsii.Number(functionMemoryMB),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(timeoutSeconds(name))),
			Role:          role,
			LogGroup:      logs,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			Environment:   &env,
		}
		if cfg.Tracing {
			props.Tracing = awslambda.Tracing_ACTIVE
		}
		fn := awslambda.NewFunction(scope, jsii.String("Function"), props)
		if cfg.Tracing {
			// After NewFunction: it adds the X-Ray statement to the role's
			// default policy, which must exist to receive the suppression.
			cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String("X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; CDK adds them on * only when -c tracing=true."),
				AppliesTo: &[]interface{}{jsii.String("Resource::*")},
			}}, jsii.Bool(true))
		}
		fns[name] = fn
		alarm(scope, "Errors", name+"-errors", "The "+name+" function returned errors (sum over 5 minutes).", fn.MetricErrors(sum), 1)
		alarm(scope, "Throttles", name+"-throttles", "The "+name+" function was throttled (sum over 5 minutes).", fn.MetricThrottles(sum), 1)
	}

	// ---- The aggregator: the table's stream -> counters, off the request path. ----
	aggregatorEvents(stack, table, fns[routes.Aggregator], alarm)
	snapshotsSchedule(stack, fns[routes.Snapshots])

	// ---- HTTP API: one route per routes.All entry, each authorized. ----
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:       jsii.String(stackName),
		Description:   jsii.String("abtest API (" + cfg.Stage + ")"),
		CorsPreflight: corsFor(cfg.CorsOrigins),
	})
	authorizers := authorizersFor(fns[routes.Authorizer])
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, name := range append(routes.Functions(), routes.ConsoleAssets) {
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(exportName(name)+"Integration"), fns[name], nil)
	}
	// The API's routes, and the web console's files on the same domain.
	for _, r := range slices.Concat(routes.All, routes.Static) {
		if !slices.Contains(httpMethods, r.Method) {
			return nil, fmt.Errorf("infra: route %q: unsupported method %q", r.Key(), r.Method)
		}
		added := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
			Authorizer:  authorizers[r.AuthorizerName()],
		})
		if r.Public {
			reason := "The health check is public on purpose (load balancers and uptime probes carry no key); it reads one absent item and returns the version."
			if r.Function == routes.ConsoleAssets {
				reason = "The web console's static files are public on purpose: they hold no secret and read nothing; the page sends the admin's credential to the admin API, whose routes are authorized."
			}
			for _, route := range *added {
				cdknag.NagSuppressions_AddResourceSuppressions(route, &[]*cdknag.NagPackSuppression{{
					Id:     jsii.String("AwsSolutions-APIG4"),
					Reason: jsii.String(reason),
				}}, jsii.Bool(true))
			}
		}
	}

	// An authorizer without identity sources (the admin routes': a key or a
	// token) leaves the property out rather than send an empty list: that
	// is how API Gateway documents "none" (allowed only without caching).
	for _, r := range routes.All {
		if r.Public || r.Cached() {
			continue
		}
		if c := api.Node().TryFindChild(jsii.String(r.AuthorizerName())); c != nil {
			if cfn, ok := c.Node().DefaultChild().(awscdk.CfnResource); ok {
				cfn.AddPropertyDeletionOverride(jsii.String("IdentitySource"))
			}
		}
	}

	// The $default stage: throttling and JSON access logs through the L1
	// CfnStage (the HttpApi L2 creates the stage without these options).
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     st.logRetention,
		RemovalPolicy: removal,
	})
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat()),
	})
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:    jsii.Number(st.throttleRate),
		ThrottlingBurstLimit:   jsii.Number(st.throttleBurst),
		DetailedMetricsEnabled: jsii.Bool(false), // per-route metrics are billed as custom metrics
	})

	// ---- Alarms on the API and the table (the functions' are above). ----
	// 5xx rate in percent, ignoring 5-minute windows with fewer than 10
	// requests so one failed request in a quiet dev stage does not page.
	alarm(stack, "Api5xxRate", "api-5xx-rate", "More than 5% of API requests returned 5xx over 5 minutes.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("IF(requests >= 10, 100 * errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors":   api.MetricServerError(sum),
				"requests": api.MetricCount(sum),
			},
			Label:  jsii.String("5xx rate (%)"),
			Period: fiveMinutes,
		}), 5)
	// Throttle events of the table and of each index (on-demand tables still
	// throttle on hot partitions or above the account's table limits).
	throttles := map[string]awscloudwatch.IMetric{}
	for i, metricName := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		throttles[fmt.Sprintf("t%d", i)] = table.Metric(jsii.String(metricName), sum)
		for j, ix := range tableIndexes {
			throttles[fmt.Sprintf("t%di%d", i, j)] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:  jsii.String("AWS/DynamoDB"),
				MetricName: jsii.String(metricName),
				DimensionsMap: &map[string]*string{
					"TableName":                table.TableName(),
					"GlobalSecondaryIndexName": jsii.String(ix.name),
				},
				Statistic: jsii.String("Sum"),
				Period:    fiveMinutes,
			})
		}
	}
	alarm(stack, "TableThrottles", "table-throttles", "DynamoDB throttled reads or writes on the table or an index (sum over 5 minutes).",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("SUM(METRICS())"),
			UsingMetrics: &throttles,
			Label:        jsii.String("throttle events"),
			Period:       fiveMinutes,
		}), 1)

	// ---- Dashboard: every alarm's metric against its threshold, and the
	// traffic they are read beside. ----
	dashboard(stack, stackName, alarms, api, fns)

	// ---- Outputs ----
	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: api.Url(), Description: jsii.String("Base URL of the HTTP API"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ConsoleUrl"), &awscdk.CfnOutputProps{
		Value: jsii.String(*api.Url() + "console/"), Description: jsii.String("The web console (sign in with an admin key or admin token)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Value: table.TableName(), Description: jsii.String("DynamoDB table (the functions' TABLE_NAME)"),
	})
	if sessionSecret != nil {
		awscdk.NewCfnOutput(stack, jsii.String("SessionHs256SecretArn"), &awscdk.CfnOutputProps{
			Value: sessionSecret.SecretArn(),
			Description: jsii.String("Secrets Manager secret the authorizer verifies HS256 session tokens with; mint tokens with the value of " +
				"aws secretsmanager get-secret-value --secret-id <this ARN> --query SecretString --output text"),
		})
	}
	return stack, nil
}

// authorizersFor returns the authorizers, keyed by
// routes.Route.AuthorizerName: one per credential form (client routes: API
// key and session token; server routes and MCP: API key; admin routes: an
// API key or an admin token; the vendors' drop-ins their own form), all the
// same function. Each is a REQUEST authorizer with SIMPLE responses whose
// answer API Gateway caches for 60 s by the identity-source values; a
// request missing one of them gets API Gateway's own 401 without the
// function running. Admin routes have no identity source (either header
// will do), so their answers are not cached. The function always answers
// isAuthorized=true with either the caller or the refusal in its context,
// and every handler refuses a caller without the route's role before doing
// anything (httpapi.Endpoint), so refusals carry the API's error body.
func authorizersFor(fn awslambda.Function) map[string]awsapigatewayv2.IHttpRouteAuthorizer {
	out := map[string]awsapigatewayv2.IHttpRouteAuthorizer{}
	for _, r := range routes.All {
		key := r.AuthorizerName()
		if _, ok := out[key]; ok {
			continue
		}
		if r.Public {
			out[key] = awsapigatewayv2.NewHttpNoneAuthorizer()
			continue
		}
		sources := make([]*string, 0, len(r.IdentitySources()))
		for _, h := range r.IdentitySources() {
			sources = append(sources, jsii.String("$request.header."+h))
		}
		ttl := 0.0
		if r.Cached() {
			ttl = authorizerCacheSeconds
		}
		out[key] = awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String(key), fn, &awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
			AuthorizerName:  jsii.String(key),
			ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
			IdentitySource:  &sources,
			ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(ttl)),
		})
	}
	return out
}

// authorizerCacheSeconds: how long API Gateway reuses an authorizer answer.
// It bounds how late a key revocation or an expired session takes effect.
const authorizerCacheSeconds = 60

// httpMethods are the methods a route may use.
var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// corsFor is the API's CORS preflight configuration: nil (no CORS) without
// origins. Preflight never allows credentials; methods are those of the
// routes.
func corsFor(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	var methods []awsapigatewayv2.CorsHttpMethod
	for _, r := range routes.All {
		m := awsapigatewayv2.CorsHttpMethod(r.Method)
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins:     jsii.Strings(origins...),
		AllowMethods:     &methods,
		AllowHeaders:     jsii.Strings("Content-Type", "Authorization", "X-Api-Key", "X-Device-Id"),
		AllowCredentials: jsii.Bool(false),
		MaxAge:           awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// accessLogFormat is the JSON line API Gateway writes per request.
func accessLogFormat() string {
	b, err := json.Marshal(map[string]string{
		"requestId":          "$context.requestId",
		"requestTime":        "$context.requestTime",
		"sourceIp":           "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"httpMethod":         "$context.httpMethod",
		"path":               "$context.path",
		"routeKey":           "$context.routeKey",
		"protocol":           "$context.protocol",
		"status":             "$context.status",
		"responseLength":     "$context.responseLength",
		"responseLatency":    "$context.responseLatency",
		"integrationStatus":  "$context.integrationStatus",
		"integrationLatency": "$context.integrationLatency",
		"integrationError":   "$context.integrationErrorMessage",
		"authorizerError":    "$context.authorizer.error",
		"errorMessage":       "$context.error.message",
	})
	if err != nil {
		panic(err) // a constant map of strings always marshals
	}
	return string(b)
}

// exportName turns a function name into a construct id: "assignment" ->
// "Assignment", "event-log" -> "EventLog".
func exportName(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// aggregatorEvents feeds the aggregator from the table's stream: batches of
// at most aggregator.MaxBatch records, per stream shard in order (one
// invocation per shard at a time), in one-second tumbling windows (the
// window's events carry the stream shard's id, which keys the aggregator's
// checkpoint); a failed batch is retried from its first record, split in
// two on repeated errors, and after the retries its metadata goes to an
// encrypted queue, with alarms on that queue and on the iterator age. What
// reached the queue is recovered with a recount.
func aggregatorEvents(scope constructs.Construct, table awsdynamodb.Table, fn awslambda.Function, alarm func(constructs.Construct, string, string, string, awscloudwatch.IMetric, float64)) {
	failures := awssqs.NewQueue(scope, jsii.String("AggregatorFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(failures, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the failure destination of the aggregator's event source mapping."),
	}}, jsii.Bool(false))
	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(aggregator.MaxBatch),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
		TumblingWindow:          awscdk.Duration_Seconds(jsii.Number(1)),
		ParallelizationFactor:   jsii.Number(1),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		OnFailure:               awslambdaeventsources.NewSqsDlq(failures),
	}))
	// The event source grants stream reads through the role's default
	// policy, with ListStreams on * (it has no resource-level permission).
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("dynamodb:ListStreams supports no resource-level permission; the event source mapping needs it to find the table's stream."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	alarm(fn, "IteratorAge", "aggregator-lag", "Results lag the writes by over a minute: the aggregator's oldest unread stream record (maximum over 1 minute).",
		fn.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 60_000)
	alarm(failures, "Messages", "aggregator-failures", "Stream batches the aggregator could not count reached the failure queue: counts are short until a recount.",
		failures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 1)
}
