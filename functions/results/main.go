// Command results is the Lambda function serving the results and recount routes. It only wires; the
// route's logic is in shared/results.
package main

import (
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() { service.RunFunction(routes.Results) }
