//go:build linux

package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/dynamolocal"
)

// TestDynamoDBFrozen is the hard fault: it freezes DynamoDB Local (SIGSTOP
// to its process group) in the middle of runOutageWorkload's mixed workload
// and lets it go on 6 s later (SIGCONT). Whatever DynamoDB Local was doing
// stops at an arbitrary point, transactions it received included; the
// service's calls get no answer and time out (they are not refused, as with
// a stopped server), and when it resumes DynamoDB Local completes what it
// had received for callers that gave up long ago: writes the service
// answered 500 may then be stored. Nothing the service acknowledged may be
// missing or stored twice, and only documented 500s may appear.
//
// A freeze loses no data by itself; unlike SIGKILL, which in DynamoDB Local
// loses transactions it had already acknowledged (see TestDynamoDBOutage),
// it faults the service's side only.
func TestDynamoDBFrozen(t *testing.T) {
	const frozenFor = 6 * time.Second
	srv, err := dynamolocal.Start(context.Background(), dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill) // SIGKILL ends a stopped process too
	pgid, err := dynamoLocalGroup(srv.Port())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{endpoint: srv.Endpoint(), timeout: 500 * time.Millisecond, attempts: 2})
	runOutageWorkload(t, e, func() (down, up time.Time, err error) {
		if err := syscall.Kill(-pgid, syscall.SIGSTOP); err != nil {
			return down, up, fmt.Errorf("freeze DynamoDB Local: %w", err)
		}
		down = time.Now()
		// Long enough for requests to start and end inside the freeze: the
		// ones in flight at SIGSTOP end within the gateway timeout, and the
		// next ones again; each takes about 1-2 s (two 500 ms attempts).
		time.Sleep(frozenFor)
		up = time.Now()
		if err := syscall.Kill(-pgid, syscall.SIGCONT); err != nil {
			return down, up, fmt.Errorf("resume DynamoDB Local: %w", err)
		}
		return down, up, nil
	})
}

// dynamoLocalGroup finds the process group of the DynamoDB Local this test
// process started on port: the child of this process running
// DynamoDBLocal.jar with -port port (dynamolocal starts it as the leader of
// its own process group).
func dynamoLocalGroup(port int) (int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	for _, path := range stats {
		stat, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 3 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(filepath.Dir(path), "cmdline"))
		if err != nil {
			continue
		}
		args := "\x00" + string(cmdline)
		if strings.Contains(args, "DynamoDBLocal.jar\x00") && strings.Contains(args, "\x00-port\x00"+strconv.Itoa(port)+"\x00") {
			pgid, err := strconv.Atoi(fields[2])
			if err != nil || pgid <= 1 || pgid == syscall.Getpgrp() {
				// Signalling it would stop this test process too.
				return 0, fmt.Errorf("DynamoDB Local on port %d is not in a process group of its own (%q)", port, fields[2])
			}
			return pgid, nil
		}
	}
	return 0, fmt.Errorf("no DynamoDB Local on port %d among this process's children", port)
}
