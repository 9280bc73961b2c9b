// Command authorizer is the Lambda authorizer in front of every route: it
// turns the API key and, for client keys, the session token into the caller
// the handlers read. It only wires; the logic is in shared/edge/auth. On AWS
// the dev stage's HS256 session secret is read from Secrets Manager at cold
// start (SESSION_HS256_SECRET_ARN, shared/edge/secrets).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/edge/secrets"
)

func main() {
	ctx := context.Background()
	d := lambdafn.Must(routes.Authorizer)
	session, err := auth.SessionFromEnvAndSecrets(ctx, secrets.FromAWS)
	if err == nil {
		var a *auth.Authorizer
		if a, err = auth.Setup(d.Logger, d.Store, session); err == nil {
			lambda.Start(a.Handle)
			return
		}
	}
	slog.Error("cold start failed", "function", routes.Authorizer, "error", err.Error())
	os.Exit(1)
}
