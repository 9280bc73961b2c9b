// Command events is the Lambda function serving the conversion events route. It only
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
	h, err := service.FunctionHandler(context.Background(), routes.Events)
	if err != nil {
		slog.Error("cold start failed", "function", routes.Events, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
