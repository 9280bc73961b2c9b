// Package domain_test holds the rule that keeps the domain pure: no package
// under shared/domain may import, even indirectly, anything that does I/O
// or belongs to a higher layer (docs/architecture.md).
package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import path prefixes no domain package may depend on.
var forbidden = []string{
	"net/", // net/http and every network package, and net itself
	"os/exec",
	"database/",
	"github.com/aws/",
	"github.com/abtest/abtest/shared/data/",
	"github.com/abtest/abtest/shared/usecase/",
	"github.com/abtest/abtest/shared/edge/",
	"github.com/abtest/abtest/shared/config",
	"github.com/abtest/abtest/shared/dynamolocal",
}

func TestDomainIsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if n := len(strings.Fields(string(pkgs))); n < 5 {
		t.Fatalf("only %d domain packages found: is the test in shared/domain?", n)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("a domain package depends on %s (forbidden: %s); find the importer with: go list -deps -test=false ./shared/domain/... | grep %s", dep, f, dep)
			}
		}
	}
}

// clockFree are the domain packages whose answers depend on their inputs
// alone: their own code may not read files, the clock or randomness (the
// standard library may, below them: fmt imports os).
var clockFree = []string{"./bucketing", "./conditions", "./enrolment"}

// clockFreeForbidden are the imports that would break that.
var clockFreeForbidden = []string{"os", "time", "math/rand", "crypto/rand", "net", "syscall"}

func TestClockFreePackages(t *testing.T) {
	for _, pkg := range clockFree {
		out, err := exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, f := range clockFreeForbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					t.Errorf("%s imports %s; it must not read files, the clock or randomness", pkg, imp)
				}
			}
		}
	}
}
