// Command samenv writes the --env-vars JSON of `sam local start-api` for a
// synthesized abtest template, pointing every function at a DynamoDB Local:
//
//	go run ./infra/cmd/samenv -template cdk.out/abtest-dev.template.json \
//	    -table abtest-local -endpoint http://host.docker.internal:8000 > cdk.out/sam-env.json
//
// `make sam-local` runs it; see docs/deploy.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/abtest/abtest/infra/samenv"
	"github.com/abtest/abtest/shared/config"
)

func main() {
	template := flag.String("template", "cdk.out/abtest-dev.template.json", "synthesized template")
	table := flag.String("table", "abtest-local", "table name in DynamoDB Local")
	endpoint := flag.String("endpoint", "http://host.docker.internal:8000", "DynamoDB Local as seen from the function containers")
	logLevel := flag.String("log-level", "debug", "LOG_LEVEL of the functions")
	flag.Parse()
	b, err := os.ReadFile(*template)
	if err != nil {
		fmt.Fprintln(os.Stderr, "samenv:", err)
		os.Exit(1)
	}
	vars, err := samenv.EnvVars(b, map[string]string{
		config.EnvTable:    *table,
		config.EnvEndpoint: *endpoint,
		config.EnvLogLevel: *logLevel,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vars); err != nil {
		fmt.Fprintln(os.Stderr, "samenv:", err)
		os.Exit(1)
	}
}
