// Package savedgroup is the model of saved groups: named lists of values
// (user ids, countries, ...) that GrowthBook's $inGroup and $notInGroup
// condition operators test an attribute against. It is pure: the store
// persists groups, a snapshot holds them all in memory for conditions.
package savedgroup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Group is one saved group.
type Group struct {
	Key  string
	Name string
	// Values are the members: distinct strings and float64s (JSON's
	// numbers), in the order first given. nil in listings, which carry
	// Size only.
	Values    []any
	Size      int
	Version   int64
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
}

// Limits, documented in the README. Every function holds every group in
// memory, and a group is written in one transaction, so a group is bounded
// in values and in bytes.
const (
	MaxValues     = 10000
	MaxValueBytes = 256
	// MaxBytes bounds a group's values as stored (their JSON, with commas):
	// 10,000 ids of up to 100 bytes fit.
	MaxBytes = 1 << 20
	// MaxBodyBytes bounds a request carrying a group's values.
	MaxBodyBytes = MaxBytes
	// maxListed bounds the bad values one answer names.
	maxListed = 20
)

// ValueJSON is how a value is stored and measured: its JSON, without
// HTML escaping (the store's chunks are JSON arrays of these).
func ValueJSON(v any) []byte {
	switch x := v.(type) {
	case float64:
		b, _ := json.Marshal(x)
		return b
	case string:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	return []byte("null")
}

// CheckValues adds to p the problems of a group's values under field, and
// returns them distinct, in the order first given. A value is a string of
// 1-256 bytes of UTF-8 without control characters, or a finite number;
// "3" and 3 are different values, as they are to $inGroup.
func CheckValues(p experiment.Problems, field string, raw []any) []any {
	out := make([]any, 0, len(raw))
	strs := make(map[string]bool, len(raw))
	nums := map[float64]bool{} // 0 and -0 are one key, as $inGroup compares
	bad, size := 0, 0
	for i, v := range raw {
		msg := ""
		switch x := v.(type) {
		case string:
			switch {
			case x == "":
				msg = "must not be empty"
			case len(x) > MaxValueBytes:
				msg = fmt.Sprintf("must be at most %d bytes", MaxValueBytes)
			case !printable(x):
				msg = "must be UTF-8 without control characters"
			case !strs[x]:
				strs[x] = true
				out = append(out, x)
				size += len(ValueJSON(x)) + 1
			}
		case float64:
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0):
				msg = "must be a finite number"
			case !nums[x]:
				nums[x] = true
				out = append(out, x)
				size += len(ValueJSON(x)) + 1
			}
		default:
			msg = "must be a string or a number"
		}
		if msg != "" {
			if bad < maxListed {
				p[field+"["+strconv.Itoa(i)+"]"] = msg
			}
			bad++
		}
	}
	switch {
	case bad > maxListed:
		p[field] = fmt.Sprintf("%d values are invalid; the first %d are named", bad, maxListed)
	case len(out) > MaxValues:
		p[field] = fmt.Sprintf("must hold at most %d distinct values, not %d", MaxValues, len(out))
	case size > MaxBytes:
		p[field] = fmt.Sprintf("take %d bytes stored, at most %d", size, MaxBytes)
	}
	return out
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// New returns the group key, name and values describe, with its values
// made distinct, and every problem of it.
func New(key, name string, values []any) (*Group, experiment.Problems) {
	p := experiment.Problems{}
	if msg := experiment.KeyProblem(key); msg != "" {
		p["key"] = msg
	}
	if msg := experiment.NameProblem(name); msg != "" {
		p["name"] = msg
	}
	g := &Group{Key: key, Name: name, Values: CheckValues(p, "values", values)}
	g.Size = len(g.Values)
	return g, p
}
