package store_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// b64 encodes raw cursor JSON as the store does.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a cursor in exactly the store's own encoding.
func forge(m map[string]string) string {
	b, _ := json.Marshal(m)
	return b64(string(b))
}

func with(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	c[k] = v
	return c
}

// listing is one paginated store method with what its cursors hold.
type listing struct {
	name       string
	list       func(ctx context.Context, limit int, cursor string) (next string, err error)
	sortAttr   string // the queried table's or index's sort key
	sortPre    string // the prefix its items' sort keys have in this test
	tablePK    string // the table's partition key when it is not the queried partition ("" if it is)
	tablePKPre string
}

// TestCursorValidation: a cursor is used only when it is exactly one the
// store issues for the listing queried, with key values DynamoDB accepts
// (non-empty strings of valid UTF-8, partition keys of at most 2048 bytes,
// sort keys of at most 1024); anything else is ErrBadCursor and never
// reaches DynamoDB (which, on AWS, answers a too-long key with a
// ValidationException: a 500 instead of a 400).
func TestCursorValidation(t *testing.T) {
	ctx := context.Background()
	db := storetest.Client()
	counting := storetest.NewCounting(db)
	st := store.New(counting, storetest.NewTable(t, db))
	for i := 0; i < 3; i++ {
		e := newExperiment(fmt.Sprintf("exp-%d", i), experiment.Draft)
		e.CreatedAt = e.CreatedAt.Add(time.Duration(i) * time.Second)
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAPIKey(ctx, &store.APIKey{ID: fmt.Sprintf("key-%d", i), Name: "k", Role: "client", Hash: "h", CreatedAt: e.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	exp := newExperiment("exp-0", experiment.Draft)
	for v := int64(1); v < 3; v++ {
		next := *exp
		next.Version = v + 1
		if err := st.SaveExperiment(ctx, &next, exp, store.Change{Version: v + 1, Action: "update", By: "t", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		exp = &next
	}

	listings := []listing{
		{name: "experiments", sortAttr: store.AttrGSI1SK, tablePK: store.AttrPK, tablePKPre: "EXP#",
			list: func(ctx context.Context, limit int, cursor string) (string, error) {
				p, err := st.ListExperiments(ctx, "", limit, cursor)
				return p.Next, err
			}},
		{name: "experiments by status", sortAttr: store.AttrGSI2SK, tablePK: store.AttrPK, tablePKPre: "EXP#",
			list: func(ctx context.Context, limit int, cursor string) (string, error) {
				p, err := st.ListExperiments(ctx, experiment.Draft, limit, cursor)
				return p.Next, err
			}},
		{name: "history", sortAttr: store.AttrSK, sortPre: "HIST#",
			list: func(ctx context.Context, limit int, cursor string) (string, error) {
				p, err := st.History(ctx, "exp-0", limit, cursor)
				return p.Next, err
			}},
		{name: "api keys", sortAttr: store.AttrGSI1SK, tablePK: store.AttrPK, tablePKPre: "APIKEY#",
			list: func(ctx context.Context, limit int, cursor string) (string, error) {
				p, err := st.ListAPIKeys(ctx, limit, cursor)
				return p.Next, err
			}},
	}
	issued := map[string]string{}
	for _, l := range listings {
		next, err := l.list(ctx, 1, "")
		if err != nil || next == "" {
			t.Fatalf("%s: first page: next %q, %v", l.name, next, err)
		}
		issued[l.name] = next
	}

	for _, l := range listings {
		t.Run(l.name, func(t *testing.T) {
			cursor := issued[l.name]
			raw, err := base64.RawURLEncoding.DecodeString(cursor)
			if err != nil {
				t.Fatal(err)
			}
			var valid map[string]string
			if err := json.Unmarshal(raw, &valid); err != nil {
				t.Fatal(err)
			}
			sort := func(n int) string { return l.sortPre + strings.Repeat("s", n-len(l.sortPre)) }
			rawJSON := string(raw)
			sortVal := valid[l.sortAttr]
			withRaw := func(old, new string) string {
				if !strings.Contains(rawJSON, old) {
					t.Fatalf("%s not in %s", old, rawJSON)
				}
				return b64(strings.Replace(rawJSON, old, new, 1))
			}

			bad := map[string]string{
				"3000-character sort key":                       forge(with(valid, l.sortAttr, sort(3000))),
				"1025-byte sort key":                            forge(with(valid, l.sortAttr, sort(1025))),
				"sort key over 1024 bytes in 3-byte characters": forge(with(valid, l.sortAttr, l.sortPre+strings.Repeat("€", (1026-len(l.sortPre))/3))),
				"percent signs":                                 "%%%",
				"not base64":                                    "!!!",
				"standard base64 alphabet":                      strings.NewReplacer("-", "+", "_", "/").Replace(cursor) + "+/",
				"padded base64":                                 cursor + "=",
				"base64 with a newline":                         cursor[:4] + "\n" + cursor[4:],
				"base64 with a space":                           cursor[:4] + " " + cursor[4:],
				"only a newline":                                "\n",
				"not JSON":                                      b64("cursor"),
				"JSON array":                                    b64("[]"),
				"JSON null":                                     b64("null"),
				"JSON string":                                   b64(`"x"`),
				"empty object":                                  forge(map[string]string{}),
				"number value":                                  withRaw(`"`+l.sortAttr+`":"`+sortVal+`"`, `"`+l.sortAttr+`":12`),
				"null value":                                    withRaw(`"`+l.sortAttr+`":"`+sortVal+`"`, `"`+l.sortAttr+`":null`),
				"object value":                                  withRaw(`"`+l.sortAttr+`":"`+sortVal+`"`, `"`+l.sortAttr+`":{"S":"x"}`),
				"empty value":                                   forge(with(valid, l.sortAttr, "")),
				"extra attribute":                               forge(with(valid, "extra", "x")),
				"duplicate attribute":                           withRaw(`{`, `{"`+l.sortAttr+`":"zzz",`),
				"whitespace in JSON":                            withRaw(`{`, `{ `),
				"trailing data":                                 b64(rawJSON + "{}"),
				"invalid UTF-8":                                 withRaw(sortVal, sortVal+"\xff"),
				"lone surrogate escape":                         withRaw(sortVal, sortVal+`\ud800`),
				"escaped form of a valid value":                 withRaw(`"`+l.sortAttr+`"`, `"\u00`+fmt.Sprintf("%x", l.sortAttr[0])+l.sortAttr[1:]+`"`),
				"another partition":                             forge(with(valid, partitionOf(l), valid[partitionOf(l)]+"x")),
			}
			for _, a := range []string{store.AttrPK, store.AttrSK, store.AttrGSI1PK, store.AttrGSI1SK} {
				if _, ok := valid[a]; ok {
					m := maps.Clone(valid)
					delete(m, a)
					bad["missing "+a] = forge(m)
				}
			}
			if l.tablePK != "" {
				bad["3000-character table partition key"] = forge(with(valid, l.tablePK, l.tablePKPre+strings.Repeat("p", 3000)))
				bad["2049-byte table partition key"] = forge(with(valid, l.tablePK, l.tablePKPre+strings.Repeat("p", 2049-len(l.tablePKPre))))
			}
			if l.sortPre != "" {
				bad["sort key outside the listed range"] = forge(with(valid, l.sortAttr, "DEF"))
			}
			if l.name == "experiments" {
				bad["an item that is not an experiment"] = forge(with(valid, store.AttrSK, "AGG"))
				bad["a table key outside the experiments"] = forge(with(valid, store.AttrPK, "APIKEY#x"))
			}
			for name, c := range bad {
				counting.Reset()
				_, err := l.list(ctx, 2, c)
				if !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("%s (%.80q): %v, want ErrBadCursor", name, c, err)
				}
				if n := counting.Calls()["Query"]; n != 0 {
					t.Errorf("%s: %d queries reached DynamoDB", name, n)
				}
			}

			good := map[string]string{
				"issued":             cursor,
				"1024-byte sort key": forge(with(valid, l.sortAttr, sort(1024))),
				"1023-byte sort key in characters of 1 to 3 bytes": forge(with(valid, l.sortAttr, l.sortPre+"a"+strings.Repeat("é€", (1022-len(l.sortPre))/5)+strings.Repeat("b", (1022-len(l.sortPre))%5))),
			}
			if l.tablePK != "" {
				good["2048-byte table partition key"] = forge(with(valid, l.tablePK, l.tablePKPre+strings.Repeat("p", 2048-len(l.tablePKPre))))
			}
			for name, c := range good {
				if _, err := l.list(ctx, 2, c); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}

	// A cursor issued by one listing is refused by the others.
	for _, from := range listings {
		for _, to := range listings {
			if from.name == to.name {
				continue
			}
			if _, err := to.list(ctx, 1, issued[from.name]); !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("%s cursor accepted by %s: %v", from.name, to.name, err)
			}
		}
	}
}

// partitionOf is the attribute a listing's query is on.
func partitionOf(l listing) string {
	switch l.name {
	case "experiments", "api keys":
		return store.AttrGSI1PK
	case "experiments by status":
		return store.AttrGSI2PK
	}
	return store.AttrPK
}

// TestCursorLengthBound: a cursor far longer than any the store issues is
// refused before it is decoded, so a huge query parameter costs nothing.
func TestCursorLengthBound(t *testing.T) {
	st, _, _ := storetest.New(t)
	huge := strings.Repeat("A", 4<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 5; i++ {
		if _, err := st.ListExperiments(context.Background(), "", 10, huge); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("huge cursor: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("refusing five 4 MiB cursors allocated %d bytes; the cursor was decoded", n)
	}
}
