package flag

import (
	"encoding/json"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// FuzzRules: any rules array is parsed and checked without panicking; rules
// accepted with no problem are written and read back unchanged, and
// evaluate without panicking.
func FuzzRules(f *testing.F) {
	for _, seed := range []string{
		`[]`, `[{}]`, `[1]`, `{}`, `null`,
		`[{"condition":{"country":{"$in":["FR"]}},"value":true},{"coverage":0.2,"value":false,"hash_attribute":"company"}]`,
		`[{"experiment":"pricing","values":{"control":1,"cheap":2}}]`,
		`[{"condition":{"a":{"$regex":"("}},"value":1}]`,
		`[{"coverage":"x","value":1},{"experiment":5,"values":[]}]`,
		`[{"condition":null,"value":{"a":[1,2]}}]`,
	} {
		for _, typ := range []Type{Boolean, String, Number, JSON} {
			f.Add(string(typ), seed)
		}
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		p := experiment.Problems{}
		rules := ParseRules(p, "rules", json.RawMessage(raw))
		if len(p) > 0 {
			return
		}
		CheckRules(p, "rules", Type(typ), rules)
		if len(p) > 0 || !Type(typ).Valid() {
			return
		}
		out, err := MarshalRules(rules)
		if err != nil {
			t.Fatalf("accepted rules do not marshal: %v", err)
		}
		back, err := UnmarshalRules(out)
		if err != nil {
			t.Fatalf("rules %s do not read back: %v", out, err)
		}
		again, _ := MarshalRules(back)
		if string(again) != string(out) {
			t.Fatalf("round trip changed rules:\n%s\n%s", out, again)
		}
		fl := &Flag{Key: "fz", Type: Type(typ), Enabled: true, Rules: back}
		_ = fl.Evaluate(map[string]any{"id": "u1", "country": "FR"}, nil, notEnrolled{})
	})
}
