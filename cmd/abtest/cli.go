package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/abtest/abtest/shared/edge/adminclient"
)

// env is what a run reads and writes, so tests run the command in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Settings read from the environment (flags override them).
const (
	EnvURL = "ABTEST_URL"
	EnvKey = "ABTEST_ADMIN_KEY"
	// EnvToken is an admin token (a JWT the deployment accepts as admin),
	// used when no admin key is set.
	EnvToken = "ABTEST_ADMIN_TOKEN"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the API refused, or it could not be reached
	exitUsage = 2 // a bad command line
)

// opts are the command line's flags, wherever they stand.
type opts struct {
	url, key, token string
	output          string
	file            string
	status, event   string
	metric, method  string
	cuped           bool
	name, role      string
	max             int
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func run(ctx context.Context, args []string, e env) int {
	o, pos, err := parse(args)
	if err == nil && (len(pos) == 0 || pos[0] == "help") {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	if err == nil {
		err = dispatch(ctx, o, pos, e)
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "abtest: %s\nRun abtest help for the commands.\n", ue.msg)
		return exitUsage
	}
	printError(e.stderr, err)
	return exitError
}

// printError shows the API's code and message, and the fields at fault.
func printError(w io.Writer, err error) {
	ae, ok := adminclient.AsAPIError(err)
	if !ok {
		fmt.Fprintf(w, "abtest: %v\n", err)
		return
	}
	fmt.Fprintf(w, "abtest: %s: %s\n", ae.Code, ae.Message)
	if fields, ok := ae.Details["fields"].(map[string]any); ok {
		for _, k := range sortedKeys(fields) {
			fmt.Fprintf(w, "  %s: %v\n", k, fields[k])
		}
	}
	if ae.RequestID != "" {
		fmt.Fprintf(w, "  (request %s)\n", ae.RequestID)
	}
}

// parse reads flags anywhere on the line (abtest experiments get k -o json).
func parse(args []string) (opts, []string, error) {
	var o opts
	fs := flag.NewFlagSet("abtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.url, "url", "", "")
	fs.StringVar(&o.key, "key", "", "")
	fs.StringVar(&o.token, "token", "", "")
	fs.StringVar(&o.output, "o", "table", "")
	fs.StringVar(&o.output, "output", "table", "")
	fs.StringVar(&o.file, "f", "", "")
	fs.StringVar(&o.file, "file", "", "")
	fs.StringVar(&o.status, "status", "", "")
	fs.StringVar(&o.event, "event", "", "")
	fs.StringVar(&o.metric, "metric", "", "")
	fs.StringVar(&o.method, "method", "", "")
	fs.BoolVar(&o.cuped, "cuped", false, "")
	fs.StringVar(&o.name, "name", "", "")
	fs.StringVar(&o.role, "role", "", "")
	fs.IntVar(&o.max, "max", 0, "")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if o.output != "table" && o.output != "json" {
		return o, nil, usagef("-o must be table or json")
	}
	return o, pos, nil
}

// client signs in with the first credential set: --key, --token, then
// ABTEST_ADMIN_KEY, ABTEST_ADMIN_TOKEN (flags override the environment).
func client(o opts, e env) (*adminclient.Client, error) {
	url, key, token := o.url, o.key, o.token
	if url == "" {
		url = e.getenv(EnvURL)
	}
	if key == "" && token == "" {
		key, token = e.getenv(EnvKey), e.getenv(EnvToken)
	}
	switch {
	case url == "" || (key == "" && token == ""):
		return nil, usagef("set %s and %s or %s (or --url and --key or --token): the API's URL and an admin key or token", EnvURL, EnvKey, EnvToken)
	case key != "":
		return adminclient.New(url, key)
	}
	return adminclient.NewWithToken(url, token)
}

func dispatch(ctx context.Context, o opts, pos []string, e env) error {
	if pos[0] == "mcp" {
		if len(pos) != 1 {
			return usagef("mcp takes no arguments")
		}
		c, err := client(o, e)
		if err != nil {
			return err
		}
		return serveMCP(ctx, c, e)
	}
	res, ok := resources[pos[0]]
	if !ok {
		return usagef("unknown command %q", pos[0])
	}
	if len(pos) < 2 {
		return usagef("%s needs a verb: %s", pos[0], strings.Join(res.verbs(), ", "))
	}
	verb, rest := pos[1], pos[2:]
	fn, ok := res.handlers[verb]
	if !ok {
		return usagef("%s has no verb %q (it has %s)", pos[0], verb, strings.Join(res.verbs(), ", "))
	}
	c, err := client(o, e)
	if err != nil {
		return err
	}
	return fn(ctx, call{c: c, o: o, args: rest, e: e, res: res})
}

const usage = `abtest manages an abtest deployment through its admin API.

Settings: ABTEST_URL (the API's URL) and ABTEST_ADMIN_KEY (an admin key) or
ABTEST_ADMIN_TOKEN (an admin token, used when no key is set); --url, --key
and --token override them. -o json prints JSON for scripts.

  abtest experiments list [--status draft|active|paused|ended] [--max N]
  abtest experiments get KEY
  abtest experiments create -f experiment.yaml|json
  abtest experiments update KEY -f patch.yaml|json   (version: the current one unless the file says)
  abtest experiments start|pause|resume|end|archive KEY
  abtest experiments history KEY [--max N]
  abtest experiments results KEY --event NAME
  abtest experiments results KEY --metric KEY [--method frequentist|sequential|bayesian] [--cuped]
  abtest keys create --name NAME --role admin|client|server
  abtest keys list
  abtest keys revoke ID
  abtest layers list | get KEY | create -f FILE | archive KEY
  abtest saved-groups list | get KEY | create -f FILE | update KEY -f FILE | delete KEY
  abtest flags list | get KEY | create -f FILE | update KEY -f FILE | archive KEY | history KEY
  abtest metrics list | get KEY | create -f FILE | update KEY -f FILE | archive KEY | history KEY
  abtest holdouts list | get KEY | create -f FILE | update KEY -f FILE | archive KEY
  abtest holdouts results KEY --event NAME

  abtest mcp      (an MCP server on stdin/stdout for a local AI agent)

Listings read every page (--max stops early). Errors print the API's code and
message and exit 1; a bad command line exits 2.
`
