package flags_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/flags"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

func rules(t *testing.T, raw string) []flag.Rule {
	t.Helper()
	p := experiment.Problems{}
	r := flag.ParseRules(p, "rules", json.RawMessage(raw))
	if len(p) > 0 {
		t.Fatal(p)
	}
	return r
}

func fields(err error) map[string]string {
	f, ok := fault.As(err)
	if !ok {
		return nil
	}
	m, _ := f.Details["fields"].(map[string]string)
	return m
}

// The use case called directly, as an MCP tool or the CLI would: an
// experiment rule is checked against the experiment as it is now, edits
// are versioned, and archived keys are gone for good.
func TestFlagLifecycle(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	now := func() time.Time { return time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC) }
	defs := snapshot.New(st, 0)
	exps := experiments.New(defs, st, now)
	if _, err := exps.Create(ctx, "admin", experiments.NewInput{Key: "pricing", Name: "Pricing",
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "cheap", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	fs := flags.New(st, defs, now)

	_, err := fs.Create(ctx, "admin", flags.NewInput{Key: "price-label", Type: flag.String, DefaultValue: json.RawMessage(`"$10"`),
		Enabled: true, Rules: rules(t, `[{"value":"$9"},{"experiment":"prices","values":{"control":"$10"}}]`)})
	if !fault.HasCode(err, fault.CodeValidationFailed) || fields(err)["rules[1].experiment"] == "" {
		t.Fatalf("unknown experiment: %v", err)
	}
	if _, err := fs.Get(ctx, "price-label"); !fault.HasCode(err, flag.CodeNotFound) {
		t.Fatalf("a refused flag was stored: %v", err)
	}

	f, err := fs.Create(ctx, "admin", flags.NewInput{Key: "price-label", Type: flag.String, DefaultValue: json.RawMessage(`"$10"`),
		Enabled: true, Rules: rules(t, `[{"experiment":"pricing","values":{"control":"$10","cheap":"$8"}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	g, err := fs.Update(ctx, "admin2", f.Key, flags.Patch{Version: 1, Enabled: &off})
	if err != nil || g.Version != 2 || g.Enabled || g.UpdatedBy != "admin2" {
		t.Fatalf("update: %+v, %v", g, err)
	}
	if _, err := fs.Update(ctx, "admin", f.Key, flags.Patch{Version: 1, Enabled: &off}); !fault.HasCode(err, experiment.CodeVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}
	bad := json.RawMessage(`8`)
	if _, err := fs.Update(ctx, "admin", f.Key, flags.Patch{Version: 2, DefaultValue: &bad}); fields(err)["default_value"] == "" {
		t.Fatalf("default of another type: %v", err)
	}
	if err := fs.Archive(ctx, "admin", f.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Get(ctx, f.Key); !fault.HasCode(err, flag.CodeNotFound) {
		t.Fatalf("archived flag: %v", err)
	}
	if _, err := fs.Create(ctx, "admin", flags.NewInput{Key: f.Key, Type: flag.Boolean, DefaultValue: json.RawMessage(`true`)}); !fault.HasCode(err, flag.CodeExists) {
		t.Fatalf("reused key: %v", err)
	}
	hist, err := st.FlagHistory(ctx, f.Key, 10, "")
	if err != nil || len(hist.Items) != 3 || hist.Items[0].Action != "archive" || hist.Items[1].Action != "update" || hist.Items[2].Action != "create" {
		t.Fatalf("history %+v, %v", hist.Items, err)
	}
}
