package conditions

import (
	"encoding/json"
	"testing"
)

// Evaluation allocates nothing for scalar attributes and arrays of them,
// whatever the operator: the hot path of every assignment runs it.
func TestEvalDoesNotAllocate(t *testing.T) {
	attrs := map[string]any{
		"country": "CA", "plan": "pro", "version": "2.4.1", "build": 2041.0, "age": 31.0,
		"ua": "Mozilla/5.0 (Android 14; Mobile)", "tags": []any{"beta", "vip"}, "name": "ΟΔΟΣ",
		"address": map[string]any{"city": "Montréal"}, "flag": true,
	}
	groups := SavedGroups{"staff": {"CA", "US"}}
	for _, cond := range []string{
		benchCondition,
		`{"age":{"$gte":18,"$lt":"65"},"flag":true,"build":"2041"}`,
		`{"ua":{"$regexi":"mobile|tablet"},"name":{"$ini":["οδος"]}}`,
		`{"tags":{"$elemMatch":{"$eq":"vip"}},"tags.length":{"$gt":1}}`,
		`{"tags":{"$all":["vip"],"$size":2},"$or":[{"address.city":{"$regex":"^Mont"}},{"x":null}]}`,
		`{"country":{"$inGroup":"staff"},"plan":{"$not":{"$in":["free"]}},"build":{"$vgt":2000}}`,
		`{"$nor":[{"age":{"$type":"string"}},{"missing":{"$exists":true}}],"version":{"$vlt":"10.0.0"}}`,
		// $regex on a missing attribute or a boolean reads "null", "true".
		`{"missing":{"$regex":"^nu"},"flag":{"$regex":"^true$"},"country":{"$not":{"$regex":"^nu"}}}`,
	} {
		c, err := Compile(json.RawMessage(cond))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Eval(attrs, groups) {
			t.Errorf("%s does not match", cond)
		}
		if n := testing.AllocsPerRun(100, func() { c.Eval(attrs, groups) }); n != 0 {
			t.Errorf("Eval(%s) allocates %v times", cond, n)
		}
	}
}
