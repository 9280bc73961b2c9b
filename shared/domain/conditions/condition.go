package conditions

import (
	"bytes"
	"encoding/json"
)

// Condition is a compiled targeting condition. It is immutable, so one
// compiled at definition time may be evaluated by any number of goroutines.
// The nil *Condition, like the empty condition {}, matches everything.
type Condition struct {
	root   *node  // nil: matches everything
	source []byte // compact JSON of the definition, for MarshalJSON
}

// SavedGroups maps a saved group's id to its members, for $inGroup and
// $notInGroup. A group id the map lacks has no members.
type SavedGroups map[string][]any

// Compile parses and validates a condition. Empty input and JSON null give
// the condition that matches everything. Any other error is an *Error whose
// Path names the offending part.
func Compile(raw json.RawMessage) (*Condition, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return &Condition{source: []byte("{}")}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, refuse(Root, "invalid JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, refuse(Root, "must be an object, not %s", describe(v))
	}
	root, err := compileNode(obj, Root)
	if err != nil {
		return nil, err
	}
	var src bytes.Buffer
	if err := json.Compact(&src, raw); err != nil {
		return nil, refuse(Root, "invalid JSON: %v", err)
	}
	if len(root.clauses) == 0 {
		root = nil
	}
	return &Condition{root: root, source: src.Bytes()}, nil
}

// CompileMap is Compile for a condition already decoded from JSON.
func CompileMap(m map[string]any) (*Condition, error) {
	if m == nil {
		return Compile(nil)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, refuse(Root, "not JSON: %v", err)
	}
	return Compile(raw)
}

// Eval reports whether attributes (a JSON object decoded by encoding/json)
// satisfy the condition. It never fails: every question a compiled
// condition can ask has an answer.
func (c *Condition) Eval(attrs map[string]any, groups SavedGroups) bool {
	if c == nil || c.root == nil {
		return true
	}
	return c.root.eval(attrs, groups)
}

// MarshalJSON returns the condition as it was defined, compacted.
func (c *Condition) MarshalJSON() ([]byte, error) {
	if c == nil || c.source == nil {
		return []byte("{}"), nil
	}
	return bytes.Clone(c.source), nil
}

// UnmarshalJSON compiles the condition, so a definition decoded from JSON
// carries it ready to evaluate.
func (c *Condition) UnmarshalJSON(data []byte) error {
	compiled, err := Compile(data)
	if err != nil {
		return err
	}
	*c = *compiled
	return nil
}
