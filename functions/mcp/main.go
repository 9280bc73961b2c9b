// Command mcp is the Lambda function serving the MCP server at POST /mcp
// (streamable HTTP, stateless, JSON answers) behind the admin authorizer.
// It only wires: the tools are shared/edge/mcpapi, the logic the
// experiments and results use cases.
package main

import (
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/mcpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.MCPServer, mcpapi.Wire) }
