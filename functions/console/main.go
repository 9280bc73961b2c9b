// Command console is the Lambda function serving the web console's static
// files at /console/ (public routes: the files hold no secret; the page
// calls the admin API with the credential it signs in with).
package main

import (
	"github.com/abtest/abtest/shared/edge/api/consoleapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.ConsoleAssets, consoleapi.Wire) }
