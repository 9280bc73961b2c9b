// Command exposure is the Lambda function serving the exposure route. It only wires; the
// route's logic is in shared/exposure.
package main

import (
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() { service.RunFunction(routes.Exposure) }
