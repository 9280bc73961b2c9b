package main

// Stack tests. A full synth costs seconds, so each tested configuration is
// synthesized once (synth) and every check reads that one template: dev with
// the defaults, dev with the generated HS256 session secret, prod with
// tracing, an alarm e-mail, CORS origins and a JWKS. When `make build` has
// not run, the function binaries are placeholders in a temporary folder.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/abtest/abtest/infra/samenv"
	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/routes"
)

var tempDirs []string

func TestMain(m *testing.M) {
	cleanup, err := privateJSIICache()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsii package cache:", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func tempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "abtest-infra-")
	if err != nil {
		t.Fatal(err)
	}
	tempDirs = append(tempDirs, d)
	return d
}

// Tested configurations, by name (synth's cache key); forEachStage runs a
// check on each.
var testConfigs = map[string]Config{
	"dev":       {Stage: "dev"},
	"dev-hs256": {Stage: "dev", Session: SessionConfig{HS256: true}},
	"prod": {Stage: "prod", Tracing: true, AlarmEmail: "ops@example.com", CorsOrigins: []string{"https://app.example.com"},
		Session: SessionConfig{JWKSURL: "https://idp.example/.well-known/jwks.json", Issuer: "https://idp.example", Audience: "app"}},
}

var testConfigNames = []string{"dev", "dev-hs256", "prod"}

var wantRetentionDays = map[string]float64{"dev": 7, "prod": 90}

type synthesized struct {
	cfg         Config
	stack       awscdk.Stack
	annotations assertions.Annotations
	template    assertions.Template
	res         map[string]map[string]any // logical id -> resource
	outputs     map[string]any
	outdir      string
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
	buildOnce  sync.Once
	buildDir   string
)

// testBuildDir is the real build/ when `make build` has run, else a temporary
// folder with a placeholder bootstrap per function (its content names the
// function, so the asset test can tell them apart).
func testBuildDir(t *testing.T) string {
	buildOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		real := DefaultBuildDir(root)
		if checkFunctions(functionNames(), real) == nil {
			buildDir = real
			return
		}
		buildDir = tempDir(t)
		for _, name := range functionNames() {
			dir := assetDir(buildDir, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder for "+name+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	})
	if buildDir == "" {
		t.Fatal("no build folder")
	}
	return buildDir
}

// synth synthesizes a tested configuration once per test binary.
// Annotations_FromStack goes first: it forces a synth, which
// Template_FromStack and app.Synth reuse.
func synth(t *testing.T, name string) *synthesized {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	cfg, ok := testConfigs[name]
	if !ok {
		t.Fatalf("no test configuration %q", name)
	}
	cfg.BuildDir = testBuildDir(t)
	outdir := tempDir(t)
	app := newApp(outdir, nil)
	stack, err := NewStack(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{cfg: cfg, stack: stack, outdir: outdir}
	s.annotations = assertions.Annotations_FromStack(stack)
	s.template = assertions.Template_FromStack(stack, nil)
	if dir := *app.Synth(nil).Directory(); dir != outdir {
		t.Fatalf("assembly in %s, want %s", dir, outdir)
	}
	tmpl := *s.template.ToJSON()
	s.res = map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		s.res[id] = r.(map[string]any)
	}
	s.outputs, _ = tmpl["Outputs"].(map[string]any)
	synthCache[name] = s
	return s
}

// forEachStage runs f on every tested configuration.
func forEachStage(t *testing.T, f func(t *testing.T, s *synthesized)) {
	for _, name := range testConfigNames {
		t.Run(name, func(t *testing.T) { f(t, synth(t, name)) })
	}
}

// ---- template helpers ----

func (s *synthesized) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.res {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// path walks maps and lists: path(v, "A", "B", 0, "C").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }
func arn(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }
func getAttID(v any) string        { s, _ := path(v, "Fn::GetAtt", 0).(string); return s }
func refID(v any) string           { s, _ := path(v, "Ref").(string); return s }
func asStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// functionID is the logical id of a function's AWS::Lambda::Function.
func (s *synthesized) functionID(t *testing.T, name string) string {
	t.Helper()
	scope := s.stack.Node().TryFindChild(jsii.String(exportName(name)))
	if scope == nil {
		t.Fatalf("no construct for function %q", name)
	}
	fn := scope.Node().TryFindChild(jsii.String("Function"))
	cfn := fn.Node().DefaultChild().(awscdk.CfnElement)
	return *s.stack.GetLogicalId(cfn)
}

func (s *synthesized) tableID(t *testing.T) string {
	t.Helper()
	tables := s.ofType("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables, want 1", len(tables))
	}
	for id := range tables {
		return id
	}
	return ""
}

// ---- tests without a synth ----

func TestEveryFunctionHasAPermissionEntry(t *testing.T) {
	indexes := map[string]bool{}
	for _, ix := range tableIndexes {
		indexes[ix.name] = true
	}
	for _, name := range functionNames() {
		p, ok := permissions[name]
		if !ok {
			t.Errorf("function %q has no entry in permissions", name)
			continue
		}
		if len(p.Actions) == 0 && name != routes.ConsoleAssets {
			t.Errorf("%s: no actions", name)
		}
		for _, a := range p.Actions {
			if !strings.HasPrefix(a, "dynamodb:") || strings.Contains(a, "*") {
				t.Errorf("%s: action %q is not one exact DynamoDB action", name, a)
			}
		}
		for _, ix := range p.Indexes {
			if !indexes[ix] {
				t.Errorf("%s: unknown index %q", name, ix)
			}
			if !slices.Contains(p.Actions, "dynamodb:Query") {
				t.Errorf("%s: index access without dynamodb:Query", name)
			}
		}
	}
	if err := checkFunctions([]string{"no-such-function"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "permissions table") {
		t.Errorf("checkFunctions on a function without an entry: err = %v", err)
	}
}

func TestMissingBinaryFailsSynthWithMakeBuildHint(t *testing.T) {
	app := newApp(t.TempDir(), nil)
	_, err := NewStack(app, Config{Stage: "dev", BuildDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "bootstrap") {
		t.Fatalf("err = %v, want one telling to run make build", err)
	}
	if _, err := NewStack(app, Config{Stage: "staging", BuildDir: testBuildDir(t)}); err == nil {
		t.Fatal("unknown stage accepted")
	}
}

// NewStack itself refuses the session secret outside dev and next to a
// JWKS, whoever fills the Config.
func TestStackRefusesHS256OutsideDevOrWithJWKS(t *testing.T) {
	jwks := SessionConfig{JWKSURL: "https://idp.example/jwks.json", Issuer: "https://idp.example", Audience: "app"}
	withHS256 := jwks
	withHS256.HS256 = true
	for _, cfg := range []Config{
		{Stage: "prod", Session: SessionConfig{HS256: true}},
		{Stage: "dev", Session: withHS256},
		{Stage: "dev", Session: SessionConfig{JWKSURL: jwks.JWKSURL}},
	} {
		cfg.BuildDir = testBuildDir(t)
		if _, err := NewStack(newApp(t.TempDir(), nil), cfg); err == nil || !strings.Contains(err.Error(), "session") {
			t.Errorf("%s with %+v: err = %v, want a refusal", cfg.Stage, cfg.Session, err)
		}
	}
}

// The default props point at what `make build` writes: build/<name>/bootstrap
// under the repository root, wherever the app runs from.
func TestDefaultBuildDirIsMakeBuildLayout(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	for _, name := range functionNames() {
		got := filepath.Join(assetDir(DefaultBuildDir(root), name), "bootstrap")
		if want := filepath.Join(root, "build", name, "bootstrap"); got != want {
			t.Errorf("%s: default binary %s, want %s", name, got, want)
		}
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "build/%/bootstrap:") || !strings.Contains(string(mk), "./functions/$*") {
		t.Error("the root Makefile no longer builds functions/<name> as build/<name>/bootstrap")
	}
	for _, name := range functionNames() {
		if _, err := os.Stat(filepath.Join(root, "functions", name)); err != nil {
			t.Errorf("function %q: no folder functions/%s", name, name)
		}
	}
}

func TestConfigFromContext(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
		"stage": "prod", "tracing": "true", "alarmEmail": "a@example.com",
		"corsOrigins": "https://a.example.com, https://b.example.com", "throttleRate": "7", "retentionDays": "90",
		"sessionJwksUrl": "https://idp.example/.well-known/jwks.json", "sessionIssuer": "https://idp.example", "sessionAudience": "app",
		"adminJwtRoleClaim": "groups", "adminJwtRoleValue": "abtest-admins",
	}})
	cfg, err := configFromContext(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Stage: "prod", Tracing: true, AlarmEmail: "a@example.com",
		CorsOrigins: []string{"https://a.example.com", "https://b.example.com"}, ThrottleRate: 7, RetentionDays: 90,
		Session: SessionConfig{JWKSURL: "https://idp.example/.well-known/jwks.json", Issuer: "https://idp.example", Audience: "app",
			AdminRoleClaim: "groups", AdminRoleValue: "abtest-admins"}}
	if env := cfg.Session.env(); env[auth.EnvSessionJWKSURL] != want.Session.JWKSURL || env[auth.EnvSessionAudience] != "app" ||
		env[auth.EnvAdminRoleClaim] != "groups" || env[auth.EnvAdminRoleValue] != "abtest-admins" || len(env) != 5 {
		t.Errorf("authorizer environment %v", env)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	// cdk.json's own context: JSON values, not strings.
	root, _ := repoRoot()
	ctx, err := cdkJSONContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ctx[assetMetadataContext] != true {
		t.Errorf("cdk.json: %s = %v, want true", assetMetadataContext, ctx[assetMetadataContext])
	}
	cfg, err = configFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}).Node())
	if err != nil || cfg.Stage != "dev" || cfg.Tracing || len(cfg.CorsOrigins) != 0 {
		t.Errorf("cdk.json defaults: %+v, %v; want dev, no tracing, no CORS", cfg, err)
	}
	var f struct{ App string }
	if b, err := os.ReadFile(filepath.Join(root, "cdk.json")); err != nil || json.Unmarshal(b, &f) != nil || f.App != "go run ./infra" {
		t.Errorf("cdk.json app = %q, want go run ./infra (%v)", f.App, err)
	}
	// The generated HS256 secret: dev only, and nothing secret in the
	// environment settings (the ARN is added by the stack).
	for _, v := range []interface{}{"true", true} {
		cfg, err = configFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"sessionHs256": v}}).Node())
		if err != nil || !cfg.Session.HS256 || cfg.Stage != "dev" || len(cfg.Session.env()) != 0 {
			t.Errorf("sessionHs256=%v: %+v, %v; want dev with HS256 and no plain session variables", v, cfg, err)
		}
	}
	if cfg, err = configFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"sessionHs256": "false"}}).Node()); err != nil || cfg.Session.HS256 {
		t.Errorf("sessionHs256=false: %+v, %v", cfg, err)
	}
	// The old plain-secret key is refused with the way forward, in any stage.
	for _, stage := range []string{"dev", "prod"} {
		_, err = configFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"stage": stage, "sessionHs256Secret": "0123456789abcdef0123456789abcdef"}}).Node())
		if err == nil || !strings.Contains(err.Error(), "sessionHs256=true") || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%s: sessionHs256Secret: err = %v, want a refusal naming sessionHs256=true (and not the value)", stage, err)
		}
	}
	for _, bad := range []map[string]interface{}{{"stage": "qa"}, {"tracing": "yes"}, {"throttleBurst": "-1"}, {"retentionDays": "0"}, {"retentionDays": "a year"},
		// The shared session secret: dev only, never next to a JWKS.
		{"stage": "prod", "sessionHs256": "true"},
		{"sessionHs256": "true", "sessionJwksUrl": "https://idp.example/jwks.json", "sessionIssuer": "https://idp.example", "sessionAudience": "app"},
		{"sessionHs256": "yes"},
		// A JWKS without issuer and audience accepts other apps' tokens.
		{"sessionJwksUrl": "https://idp.example/jwks.json"},
		{"sessionJwksUrl": "https://idp.example/jwks.json", "sessionIssuer": "https://idp.example"},
		{"sessionJwksUrl": "https://idp.example/jwks.json", "sessionAudience": "app"}} {
		if _, err := configFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &bad}).Node()); err == nil {
			t.Errorf("context %v accepted", bad)
		}
	}
}

func TestParseArgs(t *testing.T) {
	ctx, out, err := parseArgs([]string{"-c", "stage=prod", "--context=tracing=true", "-o", "x"})
	if err != nil || out != "x" || !reflect.DeepEqual(ctx, map[string]interface{}{"stage": "prod", "tracing": "true"}) {
		t.Fatalf("got %v %q %v", ctx, out, err)
	}
	for _, bad := range [][]string{{"-c"}, {"-c", "novalue"}, {"synth"}} {
		if _, _, err := parseArgs(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// ---- stack tests (one synth per stage) ----

func TestNoUnsuppressedNagFindings(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, f := range nagFindings(s.annotations.FindError(jsii.String("*"), match)) {
			t.Errorf("cdk-nag error %s", f)
		}
		for _, f := range nagFindings(s.annotations.FindWarning(jsii.String("*"), match)) {
			t.Errorf("cdk-nag warning %s", f)
		}
	})
}

func TestFunctions(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		fns := s.ofType("AWS::Lambda::Function")
		if len(fns) != len(functionNames()) {
			t.Fatalf("%d functions, want %d (%v)", len(fns), len(functionNames()), functionNames())
		}
		table := s.tableID(t)
		for _, name := range functionNames() {
			id := s.functionID(t, name)
			p := props(s.res[id])
			check := func(what string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s = %v, want %v", name, what, got, want)
				}
			}
			check("Runtime", p["Runtime"], "provided.al2023")
			check("Architectures", p["Architectures"], []any{"arm64"})
			check("Handler", p["Handler"], "bootstrap")
			check("MemorySize", p["MemorySize"], float64(functionMemoryMB))
			timeout := functionTimeoutSeconds
			if name == routes.Snapshots {
				timeout = snapshotsTimeoutSeconds
			}
			check("Timeout", p["Timeout"], float64(timeout))
			check("LogFormat", path(p, "LoggingConfig", "LogFormat"), "JSON")
			check("TABLE_NAME", path(p, "Environment", "Variables", config.EnvTable), ref(table))
			if s.cfg.Tracing {
				check("TracingConfig", path(p, "TracingConfig", "Mode"), "Active")
			} else {
				check("TracingConfig", p["TracingConfig"], nil)
			}
			vars := path(p, "Environment", "Variables").(map[string]any)
			_, hasEndpoint := vars[config.EnvEndpoint]
			check("declares "+config.EnvEndpoint+" (for sam local)", hasEndpoint, s.cfg.Stage == "dev")
			// No secret in any environment: the authorizer gets the session
			// secret's ARN, and only with -c sessionHs256=true; it and the
			// admin function get the signing secret's ARN.
			for k := range vars {
				if strings.Contains(strings.ToUpper(k), "SECRET") && k != auth.EnvSessionSecretARN && k != auth.EnvSigningSecretARN {
					t.Errorf("%s: environment variable %s", name, k)
				}
			}
			_, hasSigning := vars[auth.EnvSigningSecretARN]
			check("declares "+auth.EnvSigningSecretARN, hasSigning, name == routes.Authorizer || name == routes.Admin)
			wantARN := name == routes.Authorizer && s.cfg.Session.HS256
			_, hasARN := vars[auth.EnvSessionSecretARN]
			check("declares "+auth.EnvSessionSecretARN, hasARN, wantARN)
			logGroup := refID(path(p, "LoggingConfig", "LogGroup"))
			check("log group retention", path(props(s.res[logGroup]), "RetentionInDays"), wantRetentionDays[s.cfg.Stage])
		}
	})
}

// Every route key maps to the integration of its function:
// Route.Target -> Integration -> IntegrationUri -> function.
func TestRoutes(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		byKey := map[string]map[string]any{}
		for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
			key, _ := props(r)["RouteKey"].(string)
			if byKey[key] != nil {
				t.Errorf("route %q twice", key)
			}
			byKey[key] = props(r)
		}
		all := slices.Concat(routes.All, routes.Static)
		if len(byKey) != len(all) {
			t.Errorf("%d routes, want %d", len(byKey), len(all))
		}
		for _, r := range all {
			p, ok := byKey[r.Key()]
			if !ok {
				t.Errorf("no route %q", r.Key())
				continue
			}
			parts, _ := path(p, "Target", "Fn::Join", 1).([]any)
			if len(parts) != 2 || parts[0] != "integrations/" {
				t.Errorf("%s: target %v", r.Key(), p["Target"])
				continue
			}
			integ := s.res[refID(parts[1])]
			if integ["Type"] != "AWS::ApiGatewayV2::Integration" {
				t.Errorf("%s: target is not an integration", r.Key())
				continue
			}
			ip := props(integ)
			if ip["IntegrationType"] != "AWS_PROXY" || ip["PayloadFormatVersion"] != "2.0" {
				t.Errorf("%s: integration %v", r.Key(), ip)
			}
			if got, want := getAttID(ip["IntegrationUri"]), s.functionID(t, r.Function); got != want {
				t.Errorf("%s: integrated with %s, want %s (function %s)", r.Key(), got, want, r.Function)
			}
			// No route without the authorizer but the public health check,
			// and the one keyed on the route's identity sources (client:
			// key + session; admin: key).
			if r.Public {
				if got := p["AuthorizationType"]; got != "NONE" || p["AuthorizerId"] != nil {
					t.Errorf("%s: public route has authorization %v %v", r.Key(), got, p["AuthorizerId"])
				}
				continue
			}
			if got := p["AuthorizationType"]; got != "CUSTOM" {
				t.Errorf("%s: AuthorizationType %v, want CUSTOM", r.Key(), got)
			}
			authz := s.res[refID(p["AuthorizerId"])]
			ap := props(authz)
			var want []any
			for _, h := range r.IdentitySources() {
				want = append(want, "$request.header."+h)
			}
			if got, _ := ap["IdentitySource"].([]any); authz["Type"] != "AWS::ApiGatewayV2::Authorizer" || !slices.Equal(got, want) {
				t.Errorf("%s: authorizer %v, want identity sources %v", r.Key(), ap, want)
				continue
			}
			// Admin routes take a key or a token: no identity source, so
			// nothing to cache by.
			ttl := float64(authorizerCacheSeconds)
			if !r.Cached() {
				ttl = 0
			}
			if ap["AuthorizerType"] != "REQUEST" || ap["AuthorizerPayloadFormatVersion"] != "2.0" ||
				ap["EnableSimpleResponses"] != true || ap["AuthorizerResultTtlInSeconds"] != ttl || ap["Name"] != r.AuthorizerName() {
				t.Errorf("%s: authorizer settings %v", r.Key(), ap)
			}
			uri, _ := json.Marshal(ap["AuthorizerUri"])
			if !strings.Contains(string(uri), s.functionID(t, routes.Authorizer)) {
				t.Errorf("%s: authorizer invokes %s, want the authorizer function", r.Key(), uri)
			}
		}
		// API Gateway may invoke each function only from this API (and
		// EventBridge the snapshots function: TestSnapshotsSchedule).
		for id, perm := range s.ofType("AWS::Lambda::Permission") {
			pp := props(perm)
			if pp["Principal"] == "events.amazonaws.com" && getAttID(pp["FunctionName"]) == s.functionID(t, routes.Snapshots) {
				continue
			}
			if pp["Principal"] != "apigateway.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" {
				t.Errorf("permission %s: %v", id, pp)
			}
		}
	})
}

func TestIAMLeastPrivilege(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		table := s.tableID(t)
		for _, name := range functionNames() {
			fn := props(s.res[s.functionID(t, name)])
			role := s.res[getAttID(fn["Role"])]
			rp := props(role)
			if rp["ManagedPolicyArns"] != nil {
				t.Errorf("%s: managed policies %v", name, rp["ManagedPolicyArns"])
			}
			policies := map[string]any{}
			for _, p := range rp["Policies"].([]any) {
				policies[path(p, "PolicyName").(string)] = path(p, "PolicyDocument", "Statement")
			}
			// DynamoDB: exactly the permission table's actions, on the table
			// and on the indexes it queries; none for the console.
			ddb, _ := policies["dynamodb"].([]any)
			if name == routes.ConsoleAssets {
				if len(policies) != 1 || ddb != nil {
					t.Errorf("%s: inline policies %v, want its logs only", name, policies)
				}
				continue
			}
			if len(ddb) != 1 {
				t.Fatalf("%s: %d dynamodb statements, want 1", name, len(ddb))
			}
			got := asStrings(path(ddb[0], "Action"))
			want := slices.Clone(permissions[name].Actions)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: actions %v, want %v", name, got, want)
			}
			wantRes := []any{arn(table)}
			for _, ix := range permissions[name].Indexes {
				wantRes = append(wantRes, map[string]any{"Fn::Join": []any{"", []any{arn(table), "/index/" + ix}}})
			}
			gotRes := path(ddb[0], "Resource")
			if len(wantRes) == 1 {
				gotRes = []any{gotRes}
			}
			if !reflect.DeepEqual(gotRes, wantRes) {
				t.Errorf("%s: resources %v, want %v", name, gotRes, wantRes)
			}
			// Logs: its own log group only.
			logs, _ := policies["logs"].([]any)
			logGroup := refID(path(fn, "LoggingConfig", "LogGroup"))
			if len(logs) != 1 || !reflect.DeepEqual(path(logs[0], "Resource"), arn(logGroup)) ||
				!reflect.DeepEqual(asStrings(path(logs[0], "Action")), []string{"logs:CreateLogStream", "logs:PutLogEvents"}) {
				t.Errorf("%s: logs statements %v", name, logs)
			}
			// Secrets Manager: the authorizer and the admin function may read
			// the signing secret, the authorizer with -c sessionHs256=true
			// the session secret too, and nothing else.
			wantPolicies := 2
			if name == routes.Authorizer || name == routes.Admin {
				wantPolicies = 3
				want := any(ref(s.signingSecretID(t)))
				if name == routes.Authorizer && s.cfg.Session.HS256 {
					want = []any{ref(s.sessionSecretID(t)), ref(s.signingSecretID(t))}
				}
				sm, _ := policies["secretsmanager"].([]any)
				if len(sm) != 1 || !reflect.DeepEqual(asStrings(path(sm[0], "Action")), []string{"secretsmanager:GetSecretValue"}) ||
					!reflect.DeepEqual(path(sm[0], "Resource"), want) || path(sm[0], "Effect") != "Allow" {
					t.Errorf("%s: secretsmanager statements %v, want GetSecretValue on %v only", name, sm, want)
				}
			}
			if len(policies) != wantPolicies {
				t.Errorf("%s: inline policies %v, want dynamodb and logs (and secretsmanager for the authorizer with sessionHs256)", name, policies)
			}
		}
		// No statement anywhere on "*", except X-Ray's (no resource-level
		// permissions), and no wildcard action.
		var statements []any
		for _, r := range s.ofType("AWS::IAM::Role") {
			for _, p := range props(r)["Policies"].([]any) {
				statements = append(statements, path(p, "PolicyDocument", "Statement").([]any)...)
			}
		}
		for _, p := range s.ofType("AWS::IAM::Policy") {
			statements = append(statements, path(props(p), "PolicyDocument", "Statement").([]any)...)
		}
		for _, st := range statements {
			actions := asStrings(path(st, "Action"))
			for _, a := range actions {
				if strings.Contains(a, "*") {
					t.Errorf("wildcard action %q", a)
				}
				if strings.HasPrefix(a, "secretsmanager:") && a != "secretsmanager:GetSecretValue" {
					t.Errorf("secretsmanager action %q", a)
				}
			}
			for _, r := range asStrings(path(st, "Resource")) {
				// X-Ray and ListStreams (the aggregator's event source) have
				// no resource-level permissions.
				if strings.Contains(r, "*") && !allPrefixed(actions, "xray:") && !slices.Equal(actions, []string{"dynamodb:ListStreams"}) {
					t.Errorf("statement on %q: %v", r, st)
				}
			}
		}
	})
}

func allPrefixed(ss []string, prefix string) bool {
	for _, s := range ss {
		if !strings.HasPrefix(s, prefix) {
			return false
		}
	}
	return len(ss) > 0
}

func TestTable(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		r := s.res[s.tableID(t)]
		p := props(r)
		keys := func(pk, sk string) []any {
			return []any{
				map[string]any{"AttributeName": pk, "KeyType": "HASH"},
				map[string]any{"AttributeName": sk, "KeyType": "RANGE"},
			}
		}
		if !reflect.DeepEqual(p["KeySchema"], keys(store.AttrPK, store.AttrSK)) {
			t.Errorf("KeySchema %v", p["KeySchema"])
		}
		wantGSIs := []any{}
		wantAttrs := map[string]bool{store.AttrPK: true, store.AttrSK: true}
		for _, ix := range []struct{ name, pk, sk string }{{store.GSI1, store.AttrGSI1PK, store.AttrGSI1SK}, {store.GSI2, store.AttrGSI2PK, store.AttrGSI2SK}} {
			wantGSIs = append(wantGSIs, map[string]any{"IndexName": ix.name, "KeySchema": keys(ix.pk, ix.sk), "Projection": map[string]any{"ProjectionType": "ALL"}})
			wantAttrs[ix.pk], wantAttrs[ix.sk] = true, true
		}
		if !reflect.DeepEqual(p["GlobalSecondaryIndexes"], wantGSIs) {
			t.Errorf("GlobalSecondaryIndexes %v", p["GlobalSecondaryIndexes"])
		}
		for _, a := range p["AttributeDefinitions"].([]any) {
			if name := path(a, "AttributeName").(string); !wantAttrs[name] || path(a, "AttributeType") != "S" {
				t.Errorf("attribute %v", a)
			}
			delete(wantAttrs, path(a, "AttributeName").(string))
		}
		if len(wantAttrs) != 0 {
			t.Errorf("attributes not defined: %v", wantAttrs)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("BillingMode %v", p["BillingMode"])
		}
		if path(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
			t.Error("point-in-time recovery off")
		}
		// TTL is the retention of exposures and events (TestAggregatorStream).
		if p["TableName"] != nil {
			t.Errorf("physical name %v: CloudFormation names the table", p["TableName"])
		}
		prod := s.cfg.Stage == "prod"
		wantPolicy := map[bool]string{true: "Retain", false: "Delete"}[prod]
		if p["DeletionProtectionEnabled"] != prod || r["DeletionPolicy"] != wantPolicy || r["UpdateReplacePolicy"] != wantPolicy {
			t.Errorf("deletion protection %v, DeletionPolicy %v, UpdateReplacePolicy %v; want %v, %s",
				p["DeletionProtectionEnabled"], r["DeletionPolicy"], r["UpdateReplacePolicy"], prod, wantPolicy)
		}
	})
}

func TestAlarms(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		alarms := s.ofType("AWS::CloudWatch::Alarm")
		if want := 2*len(functionNames()) + 4; len(alarms) != want {
			t.Errorf("%d alarms, want %d", len(alarms), want)
		}
		// metric name -> function (or "") it watches, per alarm.
		seen := map[string]int{}
		for id, a := range alarms {
			p := props(a)
			var names []string
			if m := p["MetricName"]; m != nil {
				dim := refID(path(p, "Dimensions", 0, "Value"))
				names = append(names, fmt.Sprintf("%s/%s", m, dim))
			}
			for _, m := range asAny(p["Metrics"]) {
				if n := path(m, "MetricStat", "Metric", "MetricName"); n != nil {
					names = append(names, n.(string))
				}
			}
			sort.Strings(names)
			seen[strings.Join(slices.Compact(names), "+")]++
			hasActions := p["AlarmActions"] != nil
			if hasActions != (s.cfg.AlarmEmail != "") {
				t.Errorf("alarm %s: actions %v with alarm e-mail %q", id, p["AlarmActions"], s.cfg.AlarmEmail)
			}
		}
		want := map[string]int{"5xx+Count": 1, "ReadThrottleEvents+WriteThrottleEvents": 1,
			"IteratorAge/" + s.functionID(t, routes.Aggregator): 1, "ApproximateNumberOfMessagesVisible/": 1}
		for _, name := range functionNames() {
			want["Errors/"+s.functionID(t, name)]++
			want["Throttles/"+s.functionID(t, name)]++
		}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("alarm metrics %v, want %v", seen, want)
		}
		wantSubs := 0
		if s.cfg.AlarmEmail != "" {
			wantSubs = 1
		}
		if got := len(s.ofType("AWS::SNS::Subscription")); got != wantSubs {
			t.Errorf("%d subscriptions, want %d", got, wantSubs)
		}
	})
}

// The dashboard draws every alarm (and so each alarm's metric).
func TestDashboard(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		boards := s.ofType("AWS::CloudWatch::Dashboard")
		if len(boards) != 1 {
			t.Fatalf("%d dashboards, want 1", len(boards))
		}
		var body []byte
		for _, b := range boards {
			body, _ = json.Marshal(props(b)["DashboardBody"])
		}
		alarms := s.ofType("AWS::CloudWatch::Alarm")
		for id := range alarms {
			ref, _ := json.Marshal(map[string]any{"Fn::GetAtt": []string{id, "Arn"}})
			if !strings.Contains(string(body), string(ref)) {
				t.Errorf("dashboard lacks alarm %s", id)
			}
		}
		if n := strings.Count(string(body), `\"alarms\":`); n != len(alarms) {
			t.Errorf("dashboard has %d alarm widgets, want %d", n, len(alarms))
		}
		for _, name := range functionNames() {
			if !strings.Contains(string(body), name+" p99") {
				t.Errorf("dashboard lacks the duration of %s", name)
			}
		}
	})
}

func asAny(v any) []any { l, _ := v.([]any); return l }

func TestApiStageLogsCorsOutputs(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		for id, lg := range s.ofType("AWS::Logs::LogGroup") {
			if got := props(lg)["RetentionInDays"]; got != wantRetentionDays[s.cfg.Stage] {
				t.Errorf("log group %s: retention %v", id, got)
			}
		}
		if got, want := len(s.ofType("AWS::Logs::LogGroup")), len(functionNames())+1; got != want {
			t.Errorf("%d log groups, want %d", got, want)
		}
		apiStages := s.ofType("AWS::ApiGatewayV2::Stage")
		if len(apiStages) != 1 {
			t.Fatalf("%d stages", len(apiStages))
		}
		for _, st := range apiStages {
			p := props(st)
			settings := stages[s.cfg.Stage]
			if p["StageName"] != "$default" || p["AutoDeploy"] != true ||
				path(p, "DefaultRouteSettings", "ThrottlingRateLimit") != settings.throttleRate ||
				path(p, "DefaultRouteSettings", "ThrottlingBurstLimit") != settings.throttleBurst {
				t.Errorf("stage %v", p)
			}
			dest := getAttID(path(p, "AccessLogSettings", "DestinationArn"))
			if s.res[dest]["Type"] != "AWS::Logs::LogGroup" {
				t.Errorf("access logs go to %v", path(p, "AccessLogSettings", "DestinationArn"))
			}
			var format map[string]string
			if err := json.Unmarshal([]byte(path(p, "AccessLogSettings", "Format").(string)), &format); err != nil || format["requestId"] != "$context.requestId" {
				t.Errorf("access log format is not JSON with the request id: %v", err)
			}
		}
		for _, api := range s.ofType("AWS::ApiGatewayV2::Api") {
			cors := props(api)["CorsConfiguration"]
			if len(s.cfg.CorsOrigins) == 0 {
				if cors != nil {
					t.Errorf("CORS %v, want none", cors)
				}
				continue
			}
			if !reflect.DeepEqual(asStrings(path(cors, "AllowOrigins")), s.cfg.CorsOrigins) || path(cors, "AllowCredentials") != false {
				t.Errorf("CORS %v", cors)
			}
		}
		for _, out := range []string{"ApiUrl", "ConsoleUrl", "TableName"} {
			if s.outputs[out] == nil {
				t.Errorf("no output %s", out)
			}
		}
		if got, want := s.outputs["SessionHs256SecretArn"] != nil, s.cfg.Session.HS256; got != want {
			t.Errorf("output SessionHs256SecretArn present = %v, want %v", got, want)
		}
	})
}

// Each function's code is its own build/<name> folder, recorded in the
// template's asset metadata the way `sam local` reads it.
func TestAssetMetadataPointsAtBootstrap(t *testing.T) {
	s := synth(t, "dev")
	for _, name := range functionNames() {
		fn := s.res[s.functionID(t, name)]
		p, _ := path(fn, "Metadata", "aws:asset:path").(string)
		if p == "" || path(fn, "Metadata", "aws:asset:property") != "Code" {
			t.Errorf("%s: asset metadata %v", name, fn["Metadata"])
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.outdir, p)
		}
		got, err := os.ReadFile(filepath.Join(p, "bootstrap"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(assetDir(s.cfg.BuildDir, name), "bootstrap"))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: asset bootstrap differs from build/%s/bootstrap (%v)", name, name, err)
		}
	}
}

// The sam-local env file has an entry per function keyed by logical id.
func TestSamEnvFromDevTemplate(t *testing.T) {
	s := synth(t, "dev")
	b, err := os.ReadFile(filepath.Join(s.outdir, *s.stack.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	vars, err := samenv.EnvVars(b, map[string]string{config.EnvTable: "abtest-local", config.EnvEndpoint: "http://host.docker.internal:8000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range functionNames() {
		if v := vars[s.functionID(t, name)]; v[config.EnvEndpoint] == "" {
			t.Errorf("%s: no env entry (%v)", name, vars)
		}
	}
	if len(vars) != len(functionNames()) {
		t.Errorf("%d env entries, want %d", len(vars), len(functionNames()))
	}
}

// sessionSecretID is the logical id of the session secret.
func (s *synthesized) sessionSecretID(t *testing.T) string {
	return s.secretID(t, "SessionHs256Secret")
}

// signingSecretID is the logical id of the signing secret.
func (s *synthesized) signingSecretID(t *testing.T) string { return s.secretID(t, "SigningSecret") }

// secretID is the logical id of the one AWS::SecretsManager::Secret whose
// id starts with prefix.
func (s *synthesized) secretID(t *testing.T, prefix string) string {
	t.Helper()
	var ids []string
	for id := range s.ofType("AWS::SecretsManager::Secret") {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d secrets %s*, want 1", len(ids), prefix)
	}
	return ids[0]
}

// With -c sessionHs256=true the HS256 secret is generated by Secrets Manager
// (no value in the template), its ARN is the authorizer's only secret-related
// variable and an output, and nothing else may read it. Without it there is
// no secret at all. In no configuration does SESSION_HS256_SECRET appear.
func TestSessionSecret(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		b, err := os.ReadFile(filepath.Join(s.outdir, *s.stack.TemplateFile()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"`+auth.EnvSessionSecret+`"`) {
			t.Errorf("the template names %s", auth.EnvSessionSecret)
		}
		generated := s.template.FindResources(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"Properties": assertions.Match_ObjectLike(&map[string]any{
				"GenerateSecretString": assertions.Match_ObjectLike(&map[string]any{
					"PasswordLength": sessionSecretLength, "ExcludePunctuation": true,
				}),
				"SecretString": assertions.Match_Absent(),
			}),
		})
		if !s.cfg.Session.HS256 {
			// Only the signing secret.
			if n := len(s.ofType("AWS::SecretsManager::Secret")); n != 1 {
				t.Errorf("%d secrets without sessionHs256, want the signing secret only", n)
			}
			return
		}
		id := s.sessionSecretID(t)
		if generated == nil || (*generated)[id] == nil || (*generated)[s.signingSecretID(t)] == nil {
			t.Fatalf("secret %s: %v, want a GenerateSecretString of %d characters without punctuation and no SecretString", id, props(s.res[id]), sessionSecretLength)
		}
		authz := props(s.res[s.functionID(t, routes.Authorizer)])
		if got := path(authz, "Environment", "Variables", auth.EnvSessionSecretARN); !reflect.DeepEqual(got, ref(id)) {
			t.Errorf("authorizer %s = %v, want the secret's ARN", auth.EnvSessionSecretARN, got)
		}
		out, _ := s.outputs["SessionHs256SecretArn"].(map[string]any)
		if !reflect.DeepEqual(out["Value"], ref(id)) || !strings.Contains(fmt.Sprint(out["Description"]), "aws secretsmanager get-secret-value --secret-id") {
			t.Errorf("output SessionHs256SecretArn %v", out)
		}
		// Only the authorizer's role mentions the secret; no resource policy.
		for rid, r := range s.res {
			if rid == id || rid == s.functionID(t, routes.Authorizer) {
				continue
			}
			if r["Type"] == "AWS::SecretsManager::ResourcePolicy" {
				t.Errorf("resource policy %s on the secret", rid)
			}
			j, _ := json.Marshal(r)
			if strings.Contains(string(j), `"`+id+`"`) && rid != getAttID(authz["Role"]) {
				t.Errorf("%s (%v) refers to the session secret", rid, r["Type"])
			}
		}
	})
}

// nagFindings formats annotations for the error messages.
func nagFindings(found *[]*cxapi.SynthesisMessage) []string {
	var out []string
	if found == nil {
		return nil
	}
	for _, m := range *found {
		var data any
		if m.Entry != nil {
			data = m.Entry.Data
		}
		out = append(out, fmt.Sprintf("%s: %v", *m.Id, data))
	}
	return out
}

// TestPermissionTableIsExact pins the permission table itself, written out
// again here, so widening a function's access is a visible test change.
func TestPermissionTableIsExact(t *testing.T) {
	want := map[string]permission{
		routes.Assignment: {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}, Indexes: []string{store.GSI1}},
		routes.Exposure:   {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.Events:     {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.Admin: {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
			Indexes: []string{store.GSI1, store.GSI2}},
		routes.Results:       {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.Health:        {Actions: []string{"dynamodb:GetItem"}},
		routes.ConsoleAssets: {},
		routes.Evaluate:      {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.MCPServer:     {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1, store.GSI2}},
		routes.Amplitude:     {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.ABC:           {Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
		routes.Classic:       {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1, store.GSI2}},
		routes.Authorizer:    {Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}},
		routes.Aggregator:    {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}},
		routes.Snapshots:     {Actions: []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, Indexes: []string{store.GSI1}},
	}
	if len(permissions) != len(want) {
		t.Fatalf("%d functions in the permission table, want %d", len(permissions), len(want))
	}
	for name, w := range want {
		got := permissions[name]
		actions := slices.Clone(got.Actions)
		sort.Strings(actions)
		if !reflect.DeepEqual(actions, w.Actions) || !reflect.DeepEqual(got.Indexes, w.Indexes) {
			t.Errorf("%s: %v on %v, want %v on %v", name, actions, got.Indexes, w.Actions, w.Indexes)
		}
	}
}

// TestAggregatorStream: the table streams new and old images to the
// aggregator through an event source mapping that keeps its counting exact
// (batches it can apply in one transaction, shard ids from tumbling windows,
// one invocation per shard, retries from the failed record, bisection) and
// sends what it cannot count to an encrypted queue.
func TestAggregatorStream(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		for _, tbl := range s.ofType("AWS::DynamoDB::Table") {
			if v := path(props(tbl), "StreamSpecification", "StreamViewType"); v != "NEW_AND_OLD_IMAGES" {
				t.Errorf("table stream view %v", v)
			}
			// Exposure and event items expire (retention).
			if ttl := path(props(tbl), "TimeToLiveSpecification"); path(ttl, "AttributeName") != store.AttrExpiresAt || path(ttl, "Enabled") != true {
				t.Errorf("table TTL %v", ttl)
			}
		}
		esms := s.ofType("AWS::Lambda::EventSourceMapping")
		if len(esms) != 1 {
			t.Fatalf("%d event source mappings, want 1", len(esms))
		}
		for _, m := range esms {
			p := props(m)
			checks := map[string]any{
				"BatchSize": float64(99), "BisectBatchOnFunctionError": true, "TumblingWindowInSeconds": float64(1),
				"ParallelizationFactor": float64(1), "StartingPosition": "TRIM_HORIZON",
			}
			for k, want := range checks {
				if p[k] != want {
					t.Errorf("event source mapping %s = %v, want %v", k, p[k], want)
				}
			}
			if !slices.Contains(asStrings(p["FunctionResponseTypes"]), "ReportBatchItemFailures") {
				t.Errorf("no partial batch responses: %v", p["FunctionResponseTypes"])
			}
			if path(p, "DestinationConfig", "OnFailure", "Destination") == nil {
				t.Errorf("no failure destination: %v", p["DestinationConfig"])
			}
		}
		for _, q := range s.ofType("AWS::SQS::Queue") {
			if props(q)["SqsManagedSseEnabled"] != true {
				t.Errorf("failure queue not encrypted: %v", props(q))
			}
		}
	})
}

// TestSnapshotsSchedule: an hourly EventBridge rule invokes the snapshots
// function (and only it), with retries, and may invoke it.
func TestSnapshotsSchedule(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		rules := s.ofType("AWS::Events::Rule")
		if len(rules) != 1 {
			t.Fatalf("%d rules, want 1", len(rules))
		}
		fn := s.functionID(t, routes.Snapshots)
		for id, r := range rules {
			p := props(r)
			if p["ScheduleExpression"] != "rate(1 hour)" || p["State"] != "ENABLED" {
				t.Errorf("rule %s: schedule %v, state %v", id, p["ScheduleExpression"], p["State"])
			}
			targets := asAny(p["Targets"])
			if len(targets) != 1 || getAttID(path(targets[0], "Arn")) != fn || path(targets[0], "RetryPolicy", "MaximumRetryAttempts") != float64(2) {
				t.Errorf("rule %s: targets %v, want the snapshots function %s with 2 retries", id, targets, fn)
			}
		}
		allowed := false
		for _, r := range s.ofType("AWS::Lambda::Permission") {
			p := props(r)
			if p["Principal"] == "events.amazonaws.com" && getAttID(p["FunctionName"]) == fn {
				allowed = true
			}
		}
		if !allowed {
			t.Error("EventBridge may not invoke the snapshots function")
		}
	})
}

// TestAdminTokenAuthorizers: the admin routes' authorizer has no identity
// source and no cache (a key or a token will do); the classic API's is
// keyed on Authorization and cached, apart from Amplitude's on the same
// header.
func TestAdminTokenAuthorizers(t *testing.T) {
	forEachStage(t, func(t *testing.T, s *synthesized) {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"Name": "AdminKeyOrTokenAuthorizer", "AuthorizerType": "REQUEST", "AuthorizerResultTtlInSeconds": 0,
			"IdentitySource": assertions.Match_Absent(),
		})
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"Name": "AdminTokenAuthorizer", "AuthorizerResultTtlInSeconds": authorizerCacheSeconds,
			"IdentitySource": []any{"$request.header.Authorization"},
		})
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"Name": "AuthorizerAuthorization", "IdentitySource": []any{"$request.header.Authorization"},
		})
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
			"RouteKey": routes.ClassicComputeResults.Key(), "AuthorizationType": "CUSTOM",
		})
	})
}
