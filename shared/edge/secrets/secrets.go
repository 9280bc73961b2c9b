// Package secrets reads a deployed secret's value from AWS Secrets Manager,
// once, at a function's cold start (the authorizer's HS256 session secret).
// Secrets never travel in a function's environment: the stack passes only
// the secret's ARN, and the function's role may read exactly that secret.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Getter is the one Secrets Manager call this package makes;
// *secretsmanager.Client has it, tests pass a fake.
type Getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Bounds of the cold-start read: one HTTP attempt, and the whole read with
// the SDK's retries, well inside Lambda's 10 s init phase.
const (
	attemptTimeout = 2 * time.Second
	readTimeout    = 5 * time.Second
)

// Read returns the current string value of the secret id (an ARN or a
// name). An empty id, a failed call, a binary-only secret and an empty value
// are errors that name the secret, never its value.
func Read(ctx context.Context, g Getter, id string) (string, error) {
	if id == "" {
		return "", errors.New("secrets: no secret id")
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	out, err := g.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return "", fmt.Errorf("secrets: read %s: %w (the secret must exist and the function's role must allow secretsmanager:GetSecretValue on it)", id, err)
	}
	if out == nil || out.SecretString == nil {
		return "", fmt.Errorf("secrets: %s has no string value", id)
	}
	if *out.SecretString == "" {
		return "", fmt.Errorf("secrets: %s has an empty value", id)
	}
	return *out.SecretString, nil
}

// NewClient builds a Secrets Manager client from the default AWS
// configuration chain (on Lambda: the function's role and region).
func NewClient(ctx context.Context) (*secretsmanager.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("secrets: load AWS configuration: %w", err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(attemptTimeout)
	}), nil
}

// FromAWS reads id with a new client: what a function's cold start calls.
// It matches auth.SecretReader.
func FromAWS(ctx context.Context, id string) (string, error) {
	c, err := NewClient(ctx)
	if err != nil {
		return "", err
	}
	return Read(ctx, c, id)
}
