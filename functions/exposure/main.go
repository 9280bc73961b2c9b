// Command exposure is the Lambda function serving the exposure route. It only
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
	h, err := service.FunctionHandler(context.Background(), routes.Exposure)
	if err != nil {
		slog.Error("cold start failed", "function", routes.Exposure, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
