// Command admin is the Lambda function serving every admin experiment route. It only
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
	h, err := service.FunctionHandler(context.Background(), routes.Admin)
	if err != nil {
		slog.Error("cold start failed", "function", routes.Admin, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
