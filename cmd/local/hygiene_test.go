package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/auth"
)

// generated is s with secret as the secret a run made up for itself.
func generated(s settings, secret string) settings {
	s.Session = auth.SessionConfig{HS256Secret: secret}
	s.SecretGenerated = true
	return s
}

const (
	secret1 = "first-run-secret-of-at-least-thirty-two-bytes"
	secret2 = "second-run-secret-of-at-least-thirty-two-bytes"
)

var demoAssignment = "/v1/client/experiments/" + DemoExperiment + "/assignment"

// TestCredentialsReusedWithDBPath: with LOCAL_DB_PATH, a second run (a new
// DynamoDB Local on the same data, and a new generated secret) reuses the
// keys and the session secret of the credentials file, so the keys and
// tokens the first run handed out keep working.
func TestCredentialsReusedWithDBPath(t *testing.T) {
	dir := t.TempDir()
	s := settings{
		Addr: "127.0.0.1:0", Table: "abtest-local", DBPath: filepath.Join(dir, "db"),
		Credentials: filepath.Join(dir, "credentials.env"),
	}
	first := startWith(t, generated(s, secret1))
	if first.creds.Secret != secret1 || strings.Contains(first.out.String(), "reusing") {
		t.Fatalf("first run: secret %q, output:\n%s", first.creds.Secret, first.out.String())
	}
	first.stop()

	second := startWith(t, generated(s, secret2))
	if second.creds.AdminKey != first.creds.AdminKey || second.creds.ClientKey != first.creds.ClientKey || second.creds.Secret != secret1 {
		t.Fatalf("second run did not reuse the first run's keys and secret:\nfirst  %+v\nsecond %+v", first.creds, second.creds)
	}
	if !strings.Contains(second.out.String(), "reusing the keys and session secret in "+s.Credentials) {
		t.Errorf("second run does not say it reuses the credentials:\n%s", second.out.String())
	}
	c := api{t: t, base: second.base, creds: second.creds}
	c.must(c.do("GET", demoAssignment, map[string]string{"X-Api-Key": first.creds.ClientKey, "Authorization": "Bearer " + first.creds.AliceToken}, nil))(200, "the first run's key and token")
	c.must(c.admin("GET", "/v1/admin/experiments", nil))(200, "the first run's admin key")
	list := c.must(c.admin("GET", "/v1/admin/api-keys?limit=100", nil))(200, "list keys")
	if n := len(list["api_keys"].([]any)); n != 3 {
		t.Errorf("%d keys in the table after two runs, want 3 (admin, client, server): %v", n, list)
	}
}

// TestCredentialsRenewedAfterRevocation: once a key of the file is revoked,
// the next run mints new keys and uses its own secret: tokens of the old
// secret stop working.
func TestCredentialsRenewedAfterRevocation(t *testing.T) {
	s := settings{
		Addr: "127.0.0.1:0", Table: "local-renewed", Endpoint: dltest.Endpoint(),
		Credentials: filepath.Join(t.TempDir(), "credentials.env"),
	}
	first := startWith(t, generated(s, secret1))
	c := api{t: t, base: first.base, creds: first.creds}
	id, _ := apikey.ParseKeyID(first.creds.ClientKey)
	c.must(c.admin("DELETE", "/v1/admin/api-keys/"+id, nil))(204, "revoke the client key")
	first.stop()

	second := startWith(t, generated(s, secret2))
	if second.creds.AdminKey == first.creds.AdminKey || second.creds.ClientKey == first.creds.ClientKey || second.creds.Secret != secret2 ||
		strings.Contains(second.out.String(), "reusing") {
		t.Fatalf("after a revocation the next run reused credentials:\nfirst  %+v\nsecond %+v", first.creds, second.creds)
	}
	c = api{t: t, base: second.base, creds: second.creds}
	c.must(c.do("GET", demoAssignment, map[string]string{"X-Api-Key": second.creds.ClientKey, "Authorization": "Bearer " + second.creds.AliceToken}, nil))(200, "new key and token")
	if st, _ := c.do("GET", demoAssignment, map[string]string{"X-Api-Key": second.creds.ClientKey, "Authorization": "Bearer " + first.creds.AliceToken}, nil); st != http.StatusUnauthorized {
		t.Errorf("a token of the old secret answered %d, want 401", st)
	}
}

// TestCredentialsNotReusedWhenSessionConfigured: a secret from SESSION_*
// settings wins over the file's, even when the keys are reused.
func TestCredentialsNotReusedWhenSessionConfigured(t *testing.T) {
	s := settings{
		Addr: "127.0.0.1:0", Table: "local-session-configured", Endpoint: dltest.Endpoint(),
		Credentials: filepath.Join(t.TempDir(), "credentials.env"),
		Session:     auth.SessionConfig{HS256Secret: testSecret},
	}
	first := startWith(t, s)
	first.stop()
	s.Session.HS256Secret = "configured-secret-of-at-least-thirty-two-bytes"
	second := startWith(t, s)
	if second.creds.AdminKey != first.creds.AdminKey || second.creds.Secret != s.Session.HS256Secret {
		t.Fatalf("want the keys reused and the configured secret: first %+v, second %+v", first.creds, second.creds)
	}
}

// TestLocalAddrInUse: a taken port fails at once with an error that names
// LOCAL_ADDR and a free address to use instead.
func TestLocalAddrInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	s := settings{Addr: addr, Table: "local-addr-in-use", Endpoint: dltest.Endpoint(),
		Credentials: filepath.Join(t.TempDir(), "credentials.env"), Session: auth.SessionConfig{HS256Secret: testSecret}}
	err = run(context.Background(), s, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, nil)
	if err == nil {
		t.Fatal("run served on a taken port")
	}
	m := regexp.MustCompile(`^LOCAL_ADDR (\S+) is in use: set LOCAL_ADDR=(127\.0\.0\.1:\d+) `).FindStringSubmatch(err.Error())
	if m == nil || m[1] != addr || m[2] == addr {
		t.Fatalf("error %q, want \"LOCAL_ADDR %s is in use: set LOCAL_ADDR=127.0.0.1:<another port> ...\"", err, addr)
	}
}

// TestMakeRunStopsCleanly runs `make run` as a terminal would, in its own
// process group, and sends the group SIGINT (Ctrl-C) or SIGTERM once it
// serves: the program exits 0, so make reports no error ("*** ... Error 1");
// make itself then ends by the same signal, as GNU make always does when
// it receives one. The binary make built, run directly, exits 0 on either
// signal.
func TestMakeRunStopsCleanly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "local")
	// A few demo users: the demo runs at start as in a real make run, at a
	// fraction of its load on the machine the other tests share
	// (TestDemoTraffic checks the demo itself).
	env := []string{"LOCAL_BIN=" + bin, "LOCAL_ADDR=127.0.0.1:0", "LOCAL_DB_PATH=", "SESSION_HS256_SECRET=", "SESSION_JWKS_URL=", "SESSION_JWKS_JSON=",
		"AWS_ENDPOINT_URL_DYNAMODB=" + dltest.Endpoint(), "LOCAL_DEMO_USERS=20"}
	for _, kv := range os.Environ() {
		// A make running this test must not hand the inner one its flags.
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			env = append([]string{kv}, env...)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("make run/"+sig.String(), func(t *testing.T) {
			cmd := exec.Command("make", "--no-print-directory", "run")
			cmd.Dir = root
			cmd.Env = append(slices.Clip(env), "TABLE_NAME=local-make-run-"+strings.ReplaceAll(sig.String(), " ", "-"),
				"LOCAL_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "credentials.env"))
			out := stopOnSignal(t, cmd, sig)
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if strings.Contains(out, "***") || strings.Contains(out, "local: ") || !(ws.Exited() && ws.ExitStatus() == 0 || ws.Signaled() && ws.Signal() == sig) {
				t.Errorf("make run after %v: %v; output:\n%s", sig, cmd.ProcessState, out)
			}
		})
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("binary/"+sig.String(), func(t *testing.T) {
			if _, err := os.Stat(bin); err != nil {
				t.Skip("make run did not build the binary")
			}
			cmd := exec.Command(bin)
			cmd.Env = append(slices.Clip(env), "TABLE_NAME=local-binary", "LOCAL_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "credentials.env"))
			out := stopOnSignal(t, cmd, sig)
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("the binary exited %v after %v, want 0; output:\n%s", cmd.ProcessState, sig, out)
			}
		})
	}
}

// stopOnSignal starts cmd in its own process group, waits until it serves,
// sends sig to the group, and returns everything it printed.
func stopOnSignal(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) string {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	// Liveness only: the first run compiles the binary.
	deadline := time.After(5 * time.Minute)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case <-done:
			t.Fatalf("ended before serving: %v\n%s", cmd.ProcessState, out.String())
		case <-deadline:
			t.Fatalf("not serving yet:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute): // liveness only
		t.Fatalf("still running a minute after %v:\n%s", sig, out.String())
	}
	return out.String()
}
