// Command abc is the Lambda function serving ABetterChoice's HTTP API as a
// drop-in: POST /abc/get_experiments and /abc/get_feature_flags. It only
// wires: the HTTP edge is shared/edge/api/abcapi, the logic the one-call
// evaluation use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/abcapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.ABC, abcapi.Wire) }
