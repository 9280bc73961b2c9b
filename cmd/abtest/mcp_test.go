package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/edge/mcpapi/mcpapitest"
	"github.com/abtest/abtest/shared/edge/stacktest"
)

// TestMCPStdio runs abtest mcp on pipes, as an agent runs it on its
// stdin and stdout, and drives it with the SDK's client: the tools reach
// the stack through its admin API.
func TestMCPStdio(t *testing.T) {
	st := stacktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"mcp"}, env{stdin: toServer, stdout: fromServer, stderr: &stderr,
			getenv: func(k string) string { return map[string]string{EnvURL: st.URL, EnvKey: st.AdminKey}[k] }})
		fromServer.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "stdio-test", Version: "1"}, nil)
	s, err := client.Connect(ctx, &mcp.IOTransport{Reader: toClient, Writer: fromClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mcpapitest.Exercise(t, ctx, s, st, "mcp_stdio")
	s.Close()
	fromClient.Close()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("abtest mcp exited %d: %s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("abtest mcp did not end when its stdin closed")
	}
}
