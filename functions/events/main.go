// Command events is the Lambda function serving the conversion events route.
// It only wires: the HTTP edge is shared/edge/api/eventsapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/eventsapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Events, eventsapi.Wire) }
