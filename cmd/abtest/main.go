// Command abtest manages an abtest deployment from a terminal: experiments,
// API keys, layers, saved groups and holdouts, through the admin API (the
// way an operator reaches a deployed stack).
//
//	go install github.com/abtest/abtest/cmd/abtest@latest
//	export ABTEST_URL=https://<api id>.execute-api.<region>.amazonaws.com ABTEST_ADMIN_KEY=<admin key>
//	abtest experiments list
//	abtest experiments create -f experiment.yaml
//	abtest experiments results checkout_button --event purchase
//
// Run abtest help for every command. --url and --key override ABTEST_URL
// and ABTEST_ADMIN_KEY. Errors print the API's code and message and exit 1;
// a bad command line exits 2.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}
