package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/abtest/abtest/shared/edge/adminclient"
)

// call is one command: the client, the flags and the words after the verb.
type call struct {
	c    *adminclient.Client
	o    opts
	args []string
	e    env
	res  *resource
}

// key is the one KEY (or ID) argument of a verb.
func (c call) key(verb string) (string, error) {
	if len(c.args) != 1 {
		return "", usagef("%s %s needs one key", c.res.name, verb)
	}
	return c.args[0], nil
}

type handler func(ctx context.Context, c call) error

// resource is an admin collection and the verbs the CLI has for it.
type resource struct {
	name     string
	path     string   // the collection, /v1/admin/...
	field    string   // the list in a page
	columns  []column // list's table
	handlers map[string]handler
	order    []string
}

func (r *resource) verbs() []string { return r.order }

// on adds verbs in the order help lists them.
func (r *resource) on(verb string, h handler) *resource {
	if r.handlers == nil {
		r.handlers = map[string]handler{}
	}
	r.handlers[verb] = h
	r.order = append(r.order, verb)
	return r
}

func (r *resource) item(key string) string { return r.path + "/" + adminclient.PathKey(key) }

var resources = map[string]*resource{}

func register(r *resource) { resources[r.name] = r }

func init() {
	exps := &resource{name: "experiments", path: "/v1/admin/experiments", field: "experiments", columns: experimentColumns}
	exps.on("list", list).on("get", get).on("create", create).on("update", update(true))
	for _, action := range []string{"start", "pause", "resume", "end"} {
		exps.on(action, act(action))
	}
	exps.on("archive", remove("archived")).on("history", history).on("results", experimentResults)
	register(exps)

	keys := &resource{name: "keys", path: "/v1/admin/api-keys", field: "api_keys", columns: keyColumns}
	register(keys.on("create", createKey).on("list", list).on("revoke", remove("revoked")))

	register((&resource{name: "layers", path: "/v1/admin/layers", field: "layers", columns: layerColumns}).
		on("list", list).on("get", get).on("create", create).on("archive", remove("archived")))
	register((&resource{name: "saved-groups", path: "/v1/admin/saved-groups", field: "saved_groups", columns: groupColumns}).
		on("list", list).on("get", get).on("create", create).on("update", update(true)).on("delete", remove("deleted")))
	register((&resource{name: "flags", path: "/v1/admin/flags", field: "flags", columns: flagColumns}).
		on("list", list).on("get", get).on("create", create).on("update", update(true)).on("archive", remove("archived")).
		on("history", history))
	register((&resource{name: "metrics", path: "/v1/admin/metrics", field: "metrics", columns: metricColumns}).
		on("list", list).on("get", get).on("create", create).on("update", update(true)).on("archive", remove("archived")).
		on("history", history))
	register((&resource{name: "holdouts", path: "/v1/admin/holdouts", field: "holdouts", columns: holdoutColumns}).
		on("list", list).on("get", get).on("create", create).on("update", update(false)).on("archive", remove("archived")).
		on("results", holdoutResults))
}

func list(ctx context.Context, c call) error {
	if len(c.args) != 0 {
		return usagef("%s list takes no arguments", c.res.name)
	}
	q := url.Values{}
	if c.o.status != "" {
		q.Set("status", c.o.status)
	}
	items, err := c.c.All(ctx, c.res.path, q, c.res.field, c.o.max)
	if err != nil {
		return err
	}
	return printList(c, items, c.res.columns)
}

func get(ctx context.Context, c call) error {
	key, err := c.key("get")
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.c.Do(ctx, http.MethodGet, c.res.item(key), nil, nil, &out); err != nil {
		return err
	}
	return printJSON(c.e.stdout, out)
}

func create(ctx context.Context, c call) error {
	if len(c.args) != 0 {
		return usagef("%s create takes the definition from -f FILE (YAML or JSON), no arguments", c.res.name)
	}
	body, err := readDefinition(c.o.file, c.e.stdin)
	if err != nil {
		return err
	}
	var out json.RawMessage
	if err := c.c.Do(ctx, http.MethodPost, c.res.path, nil, body, &out); err != nil {
		return err
	}
	return printJSON(c.e.stdout, out)
}

// update sends the file as a PATCH. Versioned resources get the current
// version when the file names none: the change then applies to what was
// just read, and a concurrent change still fails with VERSION_CONFLICT.
func update(versioned bool) handler {
	return func(ctx context.Context, c call) error {
		key, err := c.key("update")
		if err != nil {
			return err
		}
		body, err := readDefinition(c.o.file, c.e.stdin)
		if err != nil {
			return err
		}
		if versioned {
			if body, err = withVersion(ctx, c, key, body); err != nil {
				return err
			}
		}
		var out json.RawMessage
		if err := c.c.Do(ctx, http.MethodPatch, c.res.item(key), nil, body, &out); err != nil {
			return err
		}
		return printJSON(c.e.stdout, out)
	}
}

func withVersion(ctx context.Context, c call, key string, body []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, usagef("%s: the file must hold an object", c.o.file)
	}
	if _, ok := fields["version"]; ok {
		return body, nil
	}
	var current struct {
		Version int64 `json:"version"`
	}
	if err := c.c.Do(ctx, http.MethodGet, c.res.item(key), nil, nil, &current); err != nil {
		return nil, err
	}
	fields["version"] = json.RawMessage(fmt.Sprint(current.Version))
	return json.Marshal(fields)
}

func act(action string) handler {
	return func(ctx context.Context, c call) error {
		key, err := c.key(action)
		if err != nil {
			return err
		}
		var out map[string]any
		if err := c.c.Do(ctx, http.MethodPost, c.res.item(key)+"/"+action, nil, nil, &out); err != nil {
			return err
		}
		if c.o.output == "json" {
			return printJSON(c.e.stdout, out)
		}
		fmt.Fprintf(c.e.stdout, "%s is %v (version %v)\n", key, out["status"], out["version"])
		return nil
	}
}

func remove(done string) handler {
	return func(ctx context.Context, c call) error {
		key, err := c.key("that verb")
		if err != nil {
			return err
		}
		if err := c.c.Do(ctx, http.MethodDelete, c.res.item(key), nil, nil, nil); err != nil {
			return err
		}
		if c.o.output == "json" {
			return printJSON(c.e.stdout, map[string]string{"key": key, "result": done})
		}
		fmt.Fprintf(c.e.stdout, "%s %s\n", done, key)
		return nil
	}
}

func history(ctx context.Context, c call) error {
	key, err := c.key("history")
	if err != nil {
		return err
	}
	items, err := c.c.All(ctx, c.res.item(key)+"/history", nil, "history", c.o.max)
	if err != nil {
		return err
	}
	return printList(c, items, historyColumns)
}

func createKey(ctx context.Context, c call) error {
	if len(c.args) != 0 || c.o.name == "" || c.o.role == "" {
		return usagef("keys create needs --name NAME and --role admin|client|server")
	}
	var out map[string]any
	if err := c.c.Do(ctx, http.MethodPost, c.res.path, nil, map[string]string{"name": c.o.name, "role": c.o.role}, &out); err != nil {
		return err
	}
	if c.o.output == "json" {
		return printJSON(c.e.stdout, out)
	}
	fmt.Fprintf(c.e.stdout, "id:   %v\nname: %v\nrole: %v\nkey:  %v\n\nThe key is shown only now: store it.\n", out["id"], out["name"], out["role"], out["key"])
	return nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
