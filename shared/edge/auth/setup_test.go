package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

const testSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:SessionHs256Secret-AbCdEf"

// fakeSecrets is a SecretReader answering value/err and counting calls.
type fakeSecrets struct {
	value string
	err   error
	calls []string
}

func (f *fakeSecrets) read(_ context.Context, arn string) (string, error) {
	f.calls = append(f.calls, arn)
	return f.value, f.err
}

// clearSessionEnv unsets every session variable for the test.
func clearSessionEnv(t *testing.T) {
	for _, k := range []string{EnvSessionSecret, EnvSessionSecretARN, EnvSessionJWKSURL, EnvSessionJWKSJSON, EnvSessionIssuer, EnvSessionAudience, EnvSessionLeeway} {
		t.Setenv(k, "")
	}
}

func TestSessionSecretReadFromARNAtColdStart(t *testing.T) {
	clearSessionEnv(t)
	t.Setenv(EnvSessionSecretARN, testSecretARN)
	f := &fakeSecrets{value: secret}
	c, err := SessionFromEnvAndSecrets(context.Background(), f.read)
	if err != nil || c.HS256Secret != secret {
		t.Fatalf("got %q, %v; want the secret's value", c.HS256Secret, err)
	}
	if len(f.calls) != 1 || f.calls[0] != testSecretARN {
		t.Errorf("reads %v, want one of %s", f.calls, testSecretARN)
	}
	// The secret read is the one sessions are verified with.
	a, err := Setup(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, c)
	if err != nil || a == nil {
		t.Fatalf("Setup: %v", err)
	}
}

func TestSessionSecretReadFailuresFailTheColdStart(t *testing.T) {
	denied := errors.New("AccessDeniedException")
	for _, c := range []struct {
		name  string
		f     *fakeSecrets
		plain string
		want  []string
	}{
		{"read fails", &fakeSecrets{err: denied}, "", []string{EnvSessionSecretARN, "AccessDeniedException"}},
		{"empty value", &fakeSecrets{}, "", []string{EnvSessionSecretARN, testSecretARN, "empty value"}},
		{"both set", &fakeSecrets{value: secret}, secret, []string{EnvSessionSecretARN, EnvSessionSecret, "not both"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clearSessionEnv(t)
			t.Setenv(EnvSessionSecretARN, testSecretARN)
			t.Setenv(EnvSessionSecret, c.plain)
			got, err := SessionFromEnvAndSecrets(context.Background(), c.f.read)
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// Without the ARN nothing is read and the plain variable (local
// development) still works.
func TestSessionSecretFromPlainEnvWithoutARN(t *testing.T) {
	clearSessionEnv(t)
	t.Setenv(EnvSessionSecret, secret)
	f := &fakeSecrets{err: errors.New("must not be called")}
	c, err := SessionFromEnvAndSecrets(context.Background(), f.read)
	if err != nil || c.HS256Secret != secret || len(f.calls) != 0 {
		t.Fatalf("got %q, %v, reads %v", c.HS256Secret, err, f.calls)
	}
	clearSessionEnv(t)
	if c, err := SessionFromEnvAndSecrets(context.Background(), f.read); err != nil || c.HS256Secret != "" || len(f.calls) != 0 {
		t.Fatalf("no session settings: got %+v, %v, reads %v", c, err, f.calls)
	}
}
