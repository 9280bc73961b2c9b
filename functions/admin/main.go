// Command admin is the Lambda function serving every admin route (experiments and API keys).
// It only wires: the HTTP edge is shared/edge/api/adminapi, the logic its use case.
// The deployment's signing secret (SIGNING_SECRET_ARN, shared/edge/secrets)
// is read at cold start, so that server keys are issued with their signing
// token.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/edge/secrets"
)

func main() {
	signing, err := auth.SigningSecret(context.Background(), secrets.FromAWS)
	if err != nil {
		slog.Error("cold start failed", "function", routes.Admin, "error", err.Error())
		os.Exit(1)
	}
	lambdafn.Run(routes.Admin, adminapi.WireSigning(signing))
}
