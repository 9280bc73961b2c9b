// Command authorizer is the Lambda authorizer in front of every route: it
// turns the API key and, for client keys, the session token into the caller
// the handlers read. It only wires; the logic is in shared/auth.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/service"
)

func main() {
	a, err := service.AuthorizerFromEnv(context.Background())
	if err != nil {
		slog.Error("cold start failed", "function", "authorizer", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(a.Handle)
}
