// Command health is the Lambda function serving GET /v1/health (no
// authorization): the version and whether DynamoDB answers.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/healthapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Health, healthapi.Wire) }
