// Command exposure is the Lambda function serving the exposure route.
// It only wires: the HTTP edge is shared/edge/api/exposureapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/exposureapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Exposure, exposureapi.Wire) }
