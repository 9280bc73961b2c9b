package main

import (
	"context"
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/edge/adminclient"
	"github.com/abtest/abtest/shared/edge/buildinfo"
	"github.com/abtest/abtest/shared/edge/mcpapi"
)

// serveMCP runs the MCP server on stdin and stdout until the agent closes
// stdin: the same tools as the deployed /mcp function, bound to the
// deployment's admin API (ABTEST_URL, ABTEST_ADMIN_KEY) instead of its use
// cases in-process, since an operator's machine reaches a stack only
// through its API.
func serveMCP(ctx context.Context, c *adminclient.Client, e env) error {
	uc := c.UseCases()
	server := mcpapi.NewServer(buildinfo.Version(), uc, uc, nil)
	return server.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(e.stdin), Writer: nopCloser{e.stdout}})
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
