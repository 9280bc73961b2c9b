package dynamolocal

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// startServer starts a server and stops it when the test ends.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("DynamoDB Local ready at %s in %v", s.Endpoint(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
}

func item(id, val string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"id":  &types.AttributeValueMemberS{Value: id},
		"val": &types.AttributeValueMemberS{Value: val},
	}
}

func getVal(t *testing.T, c *dynamodb.Client, table, id string) string {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	v, ok := out.Item["val"].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("GetItem %s/%s: no val in %v", table, id, out.Item)
	}
	return v.Value
}

func TestCRUDAndConditionalPut(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	s := startServer(t, Options{Stdout: &log, Stderr: &log})
	c := s.Client()
	ctx := context.Background()

	createTable(t, c, "experiments")
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("experiments"), Item: item("exp-1", "v1")}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	if got := getVal(t, c, "experiments", "exp-1"); got != "v1" {
		t.Fatalf("got %q, want v1", got)
	}

	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String("experiments"),
		Item:                item("exp-1", "v2"),
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("conditional put: got %v (%T), want ConditionalCheckFailedException", err, err)
	}
	if got := getVal(t, c, "experiments", "exp-1"); got != "v1" {
		t.Fatalf("after failed conditional put got %q, want v1", got)
	}

	// The log sinks receive java's output; it proves which server ran.
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !strings.Contains(log.String(), "Version:\t1.25.1") {
		t.Errorf("log lacks DynamoDB Local version banner:\n%s", log.String())
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dbPath := t.TempDir()

	s1 := startServer(t, Options{DBPath: dbPath})
	createTable(t, s1.Client(), "assignments")
	if _, err := s1.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("assignments"), Item: item("user-1", "B")}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	if err := s1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s1.Stop(); err != nil { // idempotent
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dbPath, "shared-local-instance.db")); err != nil {
		t.Errorf("expected sqlite file in DBPath: %v", err)
	}

	s2 := startServer(t, Options{DBPath: dbPath})
	if got := getVal(t, s2.Client(), "assignments", "user-1"); got != "B" {
		t.Fatalf("after restart got %q, want B", got)
	}
}

func TestTwoServersAtOnce(t *testing.T) {
	t.Parallel()
	var servers [2]*Server
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Start(context.Background(), Options{})
			if err != nil {
				t.Errorf("Start %d: %v", i, err)
				return
			}
			t.Cleanup(func() { _ = s.Stop() })
			servers[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	a, b := servers[0], servers[1]
	if a.Port() == b.Port() {
		t.Fatalf("both servers on port %d", a.Port())
	}
	createTable(t, a.Client(), "only-in-a")
	out, err := b.Client().ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables on b: %v", err)
	}
	if len(out.TableNames) != 0 {
		t.Fatalf("server b sees tables %v; servers are not independent", out.TableNames)
	}
}

func TestKillThenStop(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})
	s.Kill()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop after Kill: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.Client().ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil {
		t.Fatal("server still answers after Kill")
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{Port: port})
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("Start on busy port %d: got %v, want errPortInUse", port, err)
	}
}

// TestInstallConcurrent installs into a fresh dir from two goroutines: the
// lock must make one download and the other wait, leaving a complete install.
func TestInstallConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads ~55 MB; skipped in -short mode")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ddb")
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Install(context.Background(), dir); err != nil {
				t.Errorf("Install: %v", err)
			}
		}()
	}
	wg.Wait()
	if !installed(dir) {
		t.Fatalf("%s not installed", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, libDir, "libsqlite4java-linux-amd64.so")); err != nil {
		t.Errorf("native lib missing: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".dynamodb-local.tmp.*"))
	if len(leftovers) != 0 {
		t.Errorf("temp dirs left behind: %v", leftovers)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("DYNAMODB_LOCAL_DIR", "")
	d, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "..", "..", "go.mod")); err != nil || filepath.Base(d) != "dynamodb-local" {
		t.Fatalf("DefaultDir = %s, want <repo root>/.cache/dynamodb-local", d)
	}
	want := t.TempDir()
	t.Setenv("DYNAMODB_LOCAL_DIR", want)
	if d, _ := DefaultDir(); d != want {
		t.Fatalf("DefaultDir with env = %s, want %s", d, want)
	}
}

// TestBindErrorDetected feeds the output DynamoDB Local prints when its port
// is taken (it keeps running afterwards), split across writes.
func TestBindErrorDetected(t *testing.T) {
	var w outputWatcher
	out := w.sink(nil)
	_, _ = out.Write([]byte("Initializing DynamoDB Local with the following configuration:\nPort:\t8000\n"))
	if w.bindFailed() {
		t.Fatal("bind failure reported too early")
	}
	_, _ = out.Write([]byte("Exception in thread \"main\" java.io.IOException: Failed to "))
	_, _ = out.Write([]byte("bind to 0.0.0.0/0.0.0.0:8000\n"))
	if !w.bindFailed() {
		t.Fatal("bind failure not detected")
	}
}
