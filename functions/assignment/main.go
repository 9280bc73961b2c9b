// Command assignment is the Lambda function serving the assignment route.
// It only wires: the HTTP edge is shared/edge/api/assignmentapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Assignment, assignmentapi.Wire) }
