package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:SessionHs256Secret-AbCdEf"

// fakeGetter answers GetSecretValue with out/err and records the id asked.
type fakeGetter struct {
	out   *secretsmanager.GetSecretValueOutput
	err   error
	asked []string
}

func (f *fakeGetter) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("fake: the read has no deadline")
	}
	f.asked = append(f.asked, *in.SecretId)
	return f.out, f.err
}

func str(s string) *string { return &s }

func TestReadReturnsTheSecretString(t *testing.T) {
	f := &fakeGetter{out: &secretsmanager.GetSecretValueOutput{SecretString: str("s3cr3t-value")}}
	got, err := Read(context.Background(), f, arn)
	if err != nil || got != "s3cr3t-value" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if len(f.asked) != 1 || f.asked[0] != arn {
		t.Errorf("asked for %v, want [%s] once", f.asked, arn)
	}
}

func TestReadFailuresNameTheSecretNotTheValue(t *testing.T) {
	denied := errors.New("AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue")
	for _, c := range []struct {
		name string
		f    *fakeGetter
		id   string
		want []string
	}{
		{"call fails", &fakeGetter{err: denied}, arn, []string{arn, "AccessDeniedException", "secretsmanager:GetSecretValue"}},
		{"empty value", &fakeGetter{out: &secretsmanager.GetSecretValueOutput{SecretString: str("")}}, arn, []string{arn, "empty value"}},
		{"binary only", &fakeGetter{out: &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("x")}}, arn, []string{arn, "no string value"}},
		{"no output", &fakeGetter{}, arn, []string{arn, "no string value"}},
		{"no id", &fakeGetter{out: &secretsmanager.GetSecretValueOutput{SecretString: str("v")}}, "", []string{"no secret id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Read(context.Background(), c.f, c.id)
			if err == nil || got != "" {
				t.Fatalf("Read = %q, %v; want an error", got, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if c.name == "call fails" && !errors.Is(err, denied) {
				t.Errorf("error %v does not wrap the call's error", err)
			}
		})
	}
}
