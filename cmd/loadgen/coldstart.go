package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/abtest/abtest/shared/edge/routes"
)

const coldRuns = 7

// coldStarts reports, per function, the size of the arm64 bootstrap that
// ships and the time from process start to ready to serve: the function is
// built for this machine with the same flags and run against a stand-in for
// the Lambda Runtime API, and "ready" is its first request for an
// invocation (GET /runtime/invocation/next), which the runtime makes only
// after main has finished its cold-start work. A listener posing as the
// DynamoDB endpoint counts connections made before ready: there must be none.
func coldStarts(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(out, "\n## Cold start\n\nMedian of %d starts on this machine (amd64 build, same flags); size is the arm64 `bootstrap` that ships.\n\n", coldRuns)
	fmt.Fprintln(out, "| function | bootstrap size (arm64) | start to ready (median) | DynamoDB connections during init |")
	fmt.Fprintln(out, "|---|---:|---:|---:|")
	for _, fn := range append(routes.Functions(), routes.Authorizer) {
		size, err := armSize(ctx, dir, fn)
		if err != nil {
			return err
		}
		native := filepath.Join(dir, fn+"-native")
		if err := goBuild(ctx, native, fn, nil); err != nil {
			return err
		}
		var times []time.Duration
		var initConns int64
		for i := 0; i < coldRuns; i++ {
			d, conns, err := startOnce(ctx, native)
			if err != nil {
				return fmt.Errorf("%s: %w", fn, err)
			}
			times = append(times, d)
			initConns += conns
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		fmt.Fprintf(out, "| %s | %.1f MB | %s | %d |\n", fn, float64(size)/1e6, ms(times[len(times)/2]), initConns)
	}
	return nil
}

func goBuild(ctx context.Context, outPath, fn string, env []string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", outPath, "./functions/"+fn)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// armSize is the size of build/<fn>/bootstrap, building it when missing.
func armSize(ctx context.Context, dir, fn string) (int64, error) {
	path := filepath.Join("build", fn, "bootstrap")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(dir, fn+"-arm64")
		if err := goBuild(ctx, path, fn, []string{"GOOS=linux", "GOARCH=arm64"}); err != nil {
			return 0, err
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// startOnce runs the binary once and returns the time until it asked the
// runtime API for work, and the connections it made to DynamoDB before.
func startOnce(ctx context.Context, bin string) (time.Duration, int64, error) {
	ready := make(chan struct{}, 1)
	runtimeAPI, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case ready <- struct{}{}:
		default:
		}
		<-r.Context().Done() // hold the long poll until the process is killed
	})}
	go func() { _ = api.Serve(runtimeAPI) }()
	defer api.Close()
	ddb, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ddb.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ddb.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()

	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI.Addr().String(),
		"TABLE_NAME=bench", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_ENDPOINT_URL_DYNAMODB=http://" + ddb.Addr().String(),
		"SESSION_HS256_SECRET=" + secret,
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case <-ready:
		return time.Since(start), conns.Load(), nil
	case <-time.After(10 * time.Second):
		return 0, 0, fmt.Errorf("not ready after 10 s")
	}
}
