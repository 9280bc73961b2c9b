package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// TestCreateListRevoke runs the command as an operator would, against
// DynamoDB Local through the SDK's endpoint variable.
func TestCreateListRevoke(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	var out bytes.Buffer
	if err := run(ctx, []string{"create", "-table", table, "-name", "ops", "-role", "admin"}, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`key:  (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no key printed:\n%s", out.String())
	}
	id, ok := apikey.ParseKeyID(m[1])
	if !ok {
		t.Fatalf("printed key %q has the wrong shape", m[1])
	}
	k, err := st.GetAPIKey(ctx, id)
	if err != nil || k.Role != "admin" || k.Hash != apikey.HashKey(m[1]) || strings.Contains(k.Hash, m[1]) {
		t.Fatalf("stored %+v, %v", k, err)
	}
	out.Reset()
	if err := run(ctx, []string{"list", "-table", table}, &out); err != nil || !strings.Contains(out.String(), id) || strings.Contains(out.String(), m[1]) {
		t.Fatalf("list: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"revoke", "-table", table, "-id", id}, &out); err != nil {
		t.Fatal(err)
	}
	if k, _ := st.GetAPIKey(ctx, id); !k.Revoked() {
		t.Fatal("not revoked")
	}
	for _, bad := range [][]string{{}, {"create", "-table", table}, {"create", "-name", "x"}, {"revoke", "-table", table, "-id", "nope"}, {"frobnicate", "-table", table}, {"create", "-table", table, "-name", "x", "-role", "root"}} {
		if err := run(ctx, bad, &out); err == nil {
			t.Errorf("run(%q) succeeded", bad)
		}
	}
}
