// Command admin is the Lambda function serving every admin route (experiments and API keys).
// It only wires: the HTTP edge is shared/edge/api/adminapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Admin, adminapi.Wire) }
