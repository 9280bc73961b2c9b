package flag

import (
	"testing"
)

// benchFlag has a rule of each kind, each force and rollout with a
// 3-clause condition: the shape the evaluation issue benchmarks.
const benchRules = `[
	{"condition":{"country":{"$in":["FR","BE"]},"plan":"pro","age":{"$gte":18}},"value":"force"},
	{"condition":{"country":{"$in":["US","CA"]},"browser":{"$ne":"ie"},"age":{"$lt":65}},"coverage":0.3,"value":"rollout"},
	{"experiment":"pricing","values":{"control":"control","cheap":"cheap"}},
	{"condition":{"version":{"$vgte":"2.0.0"},"beta":true,"tags":{"$elemMatch":{"$eq":"vip"}}},"coverage":0.9,"value":"late"}
]`

var benchAttrs = map[string]any{
	"id": "user-123456", "country": "US", "plan": "free", "age": 30.0, "browser": "chrome",
	"version": "2.3.1", "beta": true, "tags": []any{"vip", "early"}, "company": "acme", "device_id": "d-1",
}

// notEnrolled answers every experiment with "not enrolled".
type notEnrolled struct{}

func (notEnrolled) Variant(string) (string, bool) { return "", false }

type enrolledIn struct{ variant string }

func (e enrolledIn) Variant(string) (string, bool) { return e.variant, true }

func BenchmarkEvaluate(b *testing.B) {
	f := mustDefine(b, String, `"default"`, benchRules)
	cases := []struct {
		name string
		id   any
		beta bool
		enr  Enrolments
		want Source
	}{
		{"rollout", "user-1", true, notEnrolled{}, SourceRollout},             // in the 30% rollout
		{"experiment", "user-3", true, enrolledIn{"cheap"}, SourceExperiment}, // out of it, enrolled
		{"every rule to default", "user-3", false, notEnrolled{}, SourceDefault},
		{"numeric id", 123456.0, false, notEnrolled{}, SourceDefault},
	}
	for _, c := range cases {
		attrs := clone(benchAttrs)
		attrs["id"], attrs["beta"] = c.id, c.beta
		if got := f.Evaluate(attrs, nil, c.enr); got.Source != c.want {
			b.Fatalf("%s: source %s, want %s", c.name, got.Source, c.want)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = f.Evaluate(attrs, nil, c.enr)
			}
		})
	}
}

// Evaluation allocates nothing for string ids, whichever rule decides.
func TestEvaluateAllocs(t *testing.T) {
	f := mustDefine(t, String, `"default"`, benchRules)
	for _, id := range []string{"user-1", "user-2", "user-3", "user-4", "user-5"} {
		attrs := clone(benchAttrs)
		attrs["id"] = id
		for _, enr := range []Enrolments{notEnrolled{}, enrolledIn{"cheap"}} {
			if n := testing.AllocsPerRun(100, func() { _ = f.Evaluate(attrs, nil, enr) }); n != 0 {
				t.Errorf("id %s, %T: %v allocations per evaluation", id, enr, n)
			}
		}
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
