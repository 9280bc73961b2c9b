// Command assignment is the Lambda function serving the assignment route. It only wires; the
// route's logic is in shared/assignment.
package main

import (
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() { service.RunFunction(routes.Assignment) }
