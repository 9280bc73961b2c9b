package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// column is one column of a listing's table.
type column struct {
	title string
	value func(item map[string]any) string
}

func field(name string) func(map[string]any) string {
	return func(it map[string]any) string { return text(it[name]) }
}

// text shows a JSON value in a table cell.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var (
	experimentColumns = []column{
		{"KEY", field("key")}, {"STATUS", field("status")},
		{"VARIANTS", func(it map[string]any) string {
			vs, _ := it["variants"].([]any)
			keys := make([]string, 0, len(vs))
			for _, v := range vs {
				if m, ok := v.(map[string]any); ok {
					keys = append(keys, text(m["key"]))
				}
			}
			return strings.Join(keys, ",")
		}},
		{"EVENTS", field("events")}, {"VERSION", field("version")}, {"UPDATED", field("updated_at")}, {"NAME", field("name")},
	}
	keyColumns = []column{
		{"ID", field("id")}, {"ROLE", field("role")}, {"CREATED", field("created_at")},
		{"LAST USED", field("last_used_at")}, {"REVOKED", field("revoked_at")}, {"NAME", field("name")},
	}
	layerColumns = []column{
		{"KEY", field("key")},
		{"EXPERIMENTS", func(it map[string]any) string {
			hs, _ := it["allocation"].([]any)
			return fmt.Sprint(len(hs))
		}},
		{"FREE", func(it map[string]any) string {
			rs, _ := it["free"].([]any)
			parts := make([]string, 0, len(rs))
			for _, r := range rs {
				if m, ok := r.(map[string]any); ok {
					parts = append(parts, fmt.Sprintf("[%v,%v)", m["start"], m["end"]))
				}
			}
			return strings.Join(parts, " ")
		}},
		{"NAME", field("name")},
	}
	groupColumns   = []column{{"KEY", field("key")}, {"SIZE", field("size")}, {"VERSION", field("version")}, {"UPDATED", field("updated_at")}, {"NAME", field("name")}}
	holdoutColumns = []column{{"KEY", field("key")}, {"PERCENT", field("percent")}, {"STATUS", field("status")}, {"LAYERS", field("layers")}, {"EVENTS", field("events")}, {"NAME", field("name")}}
	flagColumns    = []column{{"KEY", field("key")}, {"TYPE", field("type")}, {"ENABLED", field("enabled")}, {"DEFAULT", field("default_value")}, {"RULES", func(it map[string]any) string {
		rs, _ := it["rules"].([]any)
		return fmt.Sprint(len(rs))
	}}, {"VERSION", field("version")}}
	metricColumns  = []column{{"KEY", field("key")}, {"TYPE", field("type")}, {"EVENT", field("event")}, {"DIRECTION", field("direction")}, {"STATUS", field("status")}, {"NAME", field("name")}}
	historyColumns = []column{{"VERSION", field("version")}, {"ACTION", field("action")}, {"BY", field("by")}, {"AT", field("at")}, {"DETAILS", field("details")}}
)

// printList writes a listing: a table, or with -o json the items as one
// JSON array.
func printList(c call, items []json.RawMessage, cols []column) error {
	if c.o.output == "json" {
		if items == nil {
			items = []json.RawMessage{}
		}
		return printJSON(c.e.stdout, items)
	}
	tw := tabwriter.NewWriter(c.e.stdout, 0, 0, 2, ' ', 0)
	titles := make([]string, len(cols))
	for i, col := range cols {
		titles[i] = col.title
	}
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	for _, raw := range items {
		var it map[string]any
		if err := json.Unmarshal(raw, &it); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, col := range cols {
			cells[i] = col.value(it)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// readDefinition reads -f FILE (- for stdin) as JSON: a .yaml or .yml file
// (or YAML on stdin) is converted, so the API gets what the file means.
func readDefinition(file string, stdin io.Reader) ([]byte, error) {
	if file == "" {
		return nil, usagef("-f FILE is required (a YAML or JSON file; - reads stdin)")
	}
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	ext := strings.ToLower(filepath.Ext(file))
	if ext == ".json" || (file == "-" && json.Valid(raw)) {
		if !json.Valid(raw) {
			return nil, usagef("%s is not valid JSON", file)
		}
		return raw, nil
	}
	if ext != ".yaml" && ext != ".yml" && file != "-" {
		return nil, usagef("%s: name a .yaml, .yml or .json file", file)
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, usagef("%s is not valid YAML: %v", file, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, usagef("%s: %v (keys must be strings)", file, err)
	}
	return out, nil
}
