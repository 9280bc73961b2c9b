// Command infra is the AWS CDK app of the abtest service (stack: stack.go).
//
// From the repository root (cdk.json says "app": "go run ./infra"):
//
//	make synth [STAGE=prod]                      # = go run ./infra -c stage=prod: offline, writes cdk.out/
//	npx aws-cdk@2.1148.0 synth -c stage=prod     # the same through the CDK CLI
//	make deploy STAGE=prod                       # npx aws-cdk@2.1148.0 deploy (needs AWS credentials)
//
// Context keys (-c key=value, with the CLI or with go run): stage (dev|prod,
// default dev), tracing (true|false, default false), alarmEmail, alarmTopicArn,
// corsOrigins (comma-separated origins or a JSON list; default none),
// throttleRate and throttleBurst (override the stage's API throttling),
// retentionDays (how long exposure and event items are kept, default 400),
// sessionJwksUrl, sessionIssuer, sessionAudience, sessionLeeway,
// adminJwtRoleClaim and adminJwtRoleValue (which tokens are admins'), and
// sessionHs256=true (dev only: a generated HS256 secret in Secrets Manager).
//
// Run without the CDK CLI, the app reads cdk.json's "context" itself, accepts
// -c key=value and -o <outdir> like the CLI (default <repo>/cdk.out), and
// prints the cdk-nag findings the CLI would print; error findings fail it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// modulePath identifies the repository root (the folder whose go.mod declares it).
const modulePath = "github.com/abtest/abtest"

// assetMetadataContext makes CDK record each asset's folder in the template
// (Metadata aws:asset:path), which `sam local` uses to find the code; the
// CLI sets it from cdk.json's "assetMetadata". pathMetadataContext adds each
// resource's construct path (Metadata aws:cdk:path), as the CLI does.
const (
	assetMetadataContext = "aws:cdk:enable-asset-metadata"
	pathMetadataContext  = "aws:cdk:enable-path-metadata"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	cliContext, outdir, err := parseArgs(args)
	if err != nil {
		return err
	}
	context := map[string]interface{}{}
	underCLI := os.Getenv("CDK_CONTEXT_JSON") != "" || os.Getenv("CDK_OUTDIR") != ""
	if !underCLI {
		// The CLI merges cdk.json's context itself; go run ./infra does it here.
		if context, err = cdkJSONContext(filepath.Join(root, "cdk.json")); err != nil {
			return err
		}
		if outdir == "" {
			outdir = filepath.Join(root, "cdk.out")
		}
	}
	for k, v := range cliContext {
		context[k] = v
	}
	app := newApp(outdir, context)
	cfg, err := configFromContext(app.Node())
	if err != nil {
		return err
	}
	cfg.BuildDir = DefaultBuildDir(root)
	if _, err := NewStack(app, cfg); err != nil {
		return err
	}
	asm := app.Synth(nil)
	stack := asm.GetStackByName(jsii.String(StackName(cfg.Stage)))
	nErrors := reportFindings(stack)
	if !underCLI {
		fmt.Fprintf(os.Stderr, "synthesized %s: %s\n", StackName(cfg.Stage), *stack.TemplateFullPath())
	}
	if nErrors > 0 {
		return fmt.Errorf("infra: %d cdk-nag error(s): fix them or add a suppression with a reason in infra/stack.go", nErrors)
	}
	return nil
}

// newApp creates the CDK app with asset metadata on and the cdk-nag
// AwsSolutions checks as an aspect. outdir "" leaves it to the CLI
// (CDK_OUTDIR).
func newApp(outdir string, context map[string]interface{}) awscdk.App {
	ctx := map[string]interface{}{assetMetadataContext: true, pathMetadataContext: true}
	for k, v := range context {
		ctx[k] = v
	}
	props := &awscdk.AppProps{Context: &ctx}
	if outdir != "" {
		props.Outdir = jsii.String(outdir)
	}
	app := awscdk.NewApp(props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return app
}

// DefaultBuildDir is where `make build` writes build/<function>/bootstrap.
func DefaultBuildDir(root string) string { return filepath.Join(root, "build") }

// configFromContext reads the stack's settings from the CDK context.
func configFromContext(node constructs.Node) (Config, error) {
	get := func(key string) string {
		switch v := node.TryGetContext(jsii.String(key)).(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		default:
			b, _ := json.Marshal(v) // bools, numbers and lists from cdk.json
			return string(b)
		}
	}
	cfg := Config{Stage: get("stage"), AlarmEmail: get("alarmEmail"), AlarmTopicArn: get("alarmTopicArn")}
	if cfg.Stage == "" {
		cfg.Stage = "dev"
	}
	if _, ok := stages[cfg.Stage]; !ok {
		return cfg, fmt.Errorf("infra: unknown stage %q (use -c stage=dev or -c stage=prod)", cfg.Stage)
	}
	if v := get("tracing"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("infra: -c tracing=%q: want true or false", v)
		}
		cfg.Tracing = b
	}
	if get("sessionHs256Secret") != "" {
		// The value would sit in the template and in the function's
		// environment, readable by anyone who can read either.
		return cfg, fmt.Errorf("infra: -c sessionHs256Secret is no longer supported (the secret would sit in the template and the function's environment): use -c sessionHs256=true (dev stage only), which generates the secret in AWS Secrets Manager and outputs its ARN")
	}
	cfg.Session = SessionConfig{
		JWKSURL: get("sessionJwksUrl"), Issuer: get("sessionIssuer"), Audience: get("sessionAudience"),
		Leeway:         get("sessionLeeway"),
		AdminRoleClaim: get("adminJwtRoleClaim"), AdminRoleValue: get("adminJwtRoleValue"),
	}
	if v := get("sessionHs256"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("infra: -c sessionHs256=%q: want true or false", v)
		}
		cfg.Session.HS256 = b
	}
	if err := cfg.Session.check(cfg.Stage); err != nil {
		return cfg, err
	}
	origins, err := parseList(get("corsOrigins"))
	if err != nil {
		return cfg, fmt.Errorf("infra: -c corsOrigins: %w", err)
	}
	cfg.CorsOrigins = origins
	for _, t := range []struct {
		key string
		dst *float64
	}{{"throttleRate", &cfg.ThrottleRate}, {"throttleBurst", &cfg.ThrottleBurst}} {
		if v := get(t.key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return cfg, fmt.Errorf("infra: -c %s=%q: want a positive number", t.key, v)
			}
			*t.dst = f
		}
	}
	if v := get("retentionDays"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36500 {
			return cfg, fmt.Errorf("infra: -c retentionDays=%q: want a whole number of days from 1 to 36500", v)
		}
		cfg.RetentionDays = n
	}
	return cfg, nil
}

// parseList accepts "a,b", a JSON list `["a","b"]`, or "" (none).
func parseList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("%q is not a JSON list of strings", v)
		}
	} else {
		out = strings.Split(v, ",")
	}
	var clean []string
	for _, s := range out {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	return clean, nil
}

// parseArgs reads the CLI-style flags -c key=value (repeatable), --context
// key=value and -o/--output dir.
func parseArgs(args []string) (map[string]interface{}, string, error) {
	ctx := map[string]interface{}{}
	outdir := ""
	for i := 0; i < len(args); i++ {
		flag, value := args[i], ""
		switch {
		case flag == "-c" || flag == "--context" || flag == "-o" || flag == "--output":
			if i+1 >= len(args) {
				return nil, "", fmt.Errorf("infra: %s needs a value", flag)
			}
			i++
			value = args[i]
		case strings.HasPrefix(flag, "--context=") || strings.HasPrefix(flag, "--output="):
			flag, value, _ = strings.Cut(flag, "=")
		default:
			return nil, "", fmt.Errorf("infra: unknown argument %q (use -c key=value or -o dir)", flag)
		}
		if flag == "-o" || flag == "--output" {
			outdir = value
			continue
		}
		k, v, ok := strings.Cut(value, "=")
		if !ok || k == "" {
			return nil, "", fmt.Errorf("infra: context %q: want key=value", value)
		}
		ctx[k] = v
	}
	return ctx, outdir, nil
}

// cdkJSONContext returns the "context" object of cdk.json ({} if absent),
// plus the asset metadata context when cdk.json sets "assetMetadata" (the
// CLI's setting for it; the CLI warns about aws:* keys inside "context").
func cdkJSONContext(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]interface{}{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		AssetMetadata *bool                  `json:"assetMetadata"`
		Context       map[string]interface{} `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("infra: %s: %w", path, err)
	}
	if f.Context == nil {
		f.Context = map[string]interface{}{}
	}
	if f.AssetMetadata != nil {
		f.Context[assetMetadataContext] = *f.AssetMetadata
	}
	return f.Context, nil
}

// repoRoot walks up from the working directory to the folder whose go.mod
// declares modulePath, so the app works from the root and from infra/.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" && fields[1] == modulePath {
					f.Close()
					return dir, nil
				}
			}
			f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("infra: no go.mod declaring %s above the working directory: run from the repository", modulePath)
		}
		dir = parent
	}
}

// reportFindings prints the stack's warning and error annotations (the
// cdk-nag findings) to stderr and returns the number of errors.
func reportFindings(stack cxapi.CloudFormationStackArtifact) int {
	n := 0
	for _, m := range *stack.Messages() {
		if m.Level == cxapi.SynthesisMessageLevel_INFO {
			continue
		}
		if m.Level == cxapi.SynthesisMessageLevel_ERROR {
			n++
		}
		var data interface{}
		if m.Entry != nil {
			data = m.Entry.Data
		}
		fmt.Fprintf(os.Stderr, "[%s] %s: %v\n", m.Level, *m.Id, data)
	}
	return n
}
