package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's walkthrough block with bash and
// curl against a local server, exactly as a reader pastes it: every command
// uses curl -f, so any non-2xx answer fails the block.
func TestREADMEWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- walkthrough")
	if !ok {
		t.Fatal("README has no walkthrough block")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	if !strings.Contains(block, "source .local/credentials.env") {
		t.Fatalf("walkthrough does not start from the credentials file:\n%s", block)
	}

	l := startLocal(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".local"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.creds.write(filepath.Join(dir, ".local", "credentials.env")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"status":"active"`, `"variant":`, `"accepted":1`, `"z_score"`, `"action":"pause"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %s:\n%s", want, out)
		}
	}
}
