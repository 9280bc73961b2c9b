// Command admin is the Lambda function serving every admin route (experiments and API keys). It only wires; the
// route's logic is in shared/admin.
package main

import (
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/service"
)

func main() { service.RunFunction(routes.Admin) }
