package conditions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Root is the first element of every error path.
const Root = "condition"

// Error is a condition refused at definition time. Path names the offending
// part in JSON terms (condition.$and[1].country.$regex) so an API can point
// at it; Problem says what is wrong with it.
type Error struct {
	Path    string
	Problem string
}

func (e *Error) Error() string { return e.Path + ": " + e.Problem }

func refuse(path, format string, args ...any) *Error {
	return &Error{Path: path, Problem: fmt.Sprintf(format, args...)}
}

// key extends path with an object key. Keys that would read ambiguously
// after a dot (empty, or holding brackets, quotes or spaces) are quoted.
func key(path, k string) string {
	if k == "" || strings.ContainsAny(k, "[]\"' \t\r\n") {
		q, _ := json.Marshal(k)
		return path + "[" + string(q) + "]"
	}
	return path + "." + k
}

// index extends path with an array index.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// describe names a decoded JSON value's type for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
