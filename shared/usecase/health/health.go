// Package health is the use case "is the service up?": which build answers
// and whether its one dependency, DynamoDB, answers it.
package health

import (
	"context"
	"time"

	"github.com/abtest/abtest/shared/domain/fault"
)

// CodeUnavailable: DynamoDB did not answer the health check in time.
const CodeUnavailable = "DYNAMODB_UNAVAILABLE"

// Timeout bounds the check: a probe wants an answer, not a hung request.
const Timeout = 2 * time.Second

// Pinger is the data layer's one call the check needs.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Report is a healthy answer.
type Report struct {
	Status   string `json:"status"`
	Version  string `json:"version"`
	DynamoDB string `json:"dynamodb"`
}

// Check pings DynamoDB. When it does not answer, the error is a 503 naming
// the version in its details, so a failing probe still says which build.
func Check(ctx context.Context, db Pinger, version string) (Report, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		return Report{}, fault.New(fault.Unavailable, CodeUnavailable, "DynamoDB did not answer").Because(err).
			With(map[string]any{"version": version, "dynamodb": "unavailable"})
	}
	return Report{Status: "ok", Version: version, DynamoDB: "ok"}, nil
}
