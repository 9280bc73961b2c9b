// Command results is the Lambda function serving the results and recount routes. It only
// wires: configuration and the DynamoDB client are built once per cold start.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() {
	h, err := service.FunctionHandler(context.Background(), routes.Results)
	if err != nil {
		slog.Error("cold start failed", "function", routes.Results, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
