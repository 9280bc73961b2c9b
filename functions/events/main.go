// Command events is the Lambda function serving the conversion events route. It only wires; the
// route's logic is in shared/events.
package main

import (
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() { service.RunFunction(routes.Events) }
