// Package service builds, once per process, what the handlers share: the
// logger, the store on its DynamoDB client, and the definition cache. Each
// Lambda function uses it to build its one handler; the local gateway uses
// it to build them all.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/admin"
	"github.com/abtest/abtest/shared/assignment"
	"github.com/abtest/abtest/shared/auth"
	"github.com/abtest/abtest/shared/catalog"
	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/events"
	"github.com/abtest/abtest/shared/exposure"
	"github.com/abtest/abtest/shared/gateway"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/results"
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/store"
)

// Deps are the dependencies of every handler.
type Deps struct {
	Logger  *slog.Logger
	Store   *store.Store
	Catalog *catalog.Catalog
}

// New builds Deps on a DynamoDB client.
func New(logger *slog.Logger, db store.DynamoDB, cfg config.Config) *Deps {
	st := store.New(db, cfg.Table)
	return &Deps{Logger: logger, Store: st, Catalog: catalog.New(st, cfg.CacheTTL)}
}

// FromEnv builds Deps from the environment (a Lambda cold start).
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := config.FromEnv(catalog.DefaultTTL)
	if err != nil {
		return nil, err
	}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	return New(cfg.Logger(), db, cfg), nil
}

// Handler returns the handler of one function.
func (d *Deps) Handler(function string) (httpapi.Handler, error) {
	switch function {
	case routes.Assignment:
		return assignment.NewHandler(d.Logger, d.Catalog, d.Store), nil
	case routes.Exposure:
		return exposure.NewHandler(d.Logger, d.Catalog, d.Store), nil
	case routes.Events:
		return events.NewHandler(d.Logger, d.Store, time.Now), nil
	case routes.Admin:
		return admin.NewHandler(d.Logger, d.Store, time.Now), nil
	case routes.Results:
		return results.NewHandler(d.Logger, d.Store, time.Now), nil
	}
	return nil, fmt.Errorf("service: no function %q", function)
}

// FunctionHandler builds the handler of one Lambda function from the
// environment: what a function's main does at cold start.
func FunctionHandler(ctx context.Context, function string) (httpapi.Handler, error) {
	deps, err := FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return deps.Handler(function)
}

// Authorizer builds the authorizer from session settings.
func (d *Deps) Authorizer(session auth.SessionConfig) (*auth.Authorizer, error) {
	var jwks *auth.JWKS
	switch {
	case session.JWKSJSON != "":
		var err error
		if jwks, err = auth.NewJWKSFromJSON(session.JWKSJSON); err != nil {
			return nil, err
		}
	case session.JWKSURL != "":
		jwks = auth.NewJWKSFromURL(session.JWKSURL, nil)
	}
	var verifier *auth.Verifier
	if session.HS256Secret != "" || jwks != nil {
		var err error
		if verifier, err = auth.NewVerifier(session, jwks); err != nil {
			return nil, err
		}
	}
	// Without session settings admin keys still work; client calls are
	// refused until the deployment says how to verify sessions.
	return auth.NewAuthorizer(d.Logger, d.Store, verifier, time.Now), nil
}

// AuthorizerFromEnv builds the Lambda authorizer from the environment.
func AuthorizerFromEnv(ctx context.Context) (*auth.Authorizer, error) {
	deps, err := FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	session, err := config.Session()
	if err != nil {
		return nil, err
	}
	return deps.Authorizer(session)
}

// Gateway serves every route through the local gateway, behind the
// authorizer, as API Gateway does on AWS.
func (d *Deps) Gateway(session auth.SessionConfig, opts gateway.Options) (*gateway.Gateway, error) {
	authz, err := d.Authorizer(session)
	if err != nil {
		return nil, err
	}
	gw := gateway.New(opts)
	gw.Authorize(authz.Handle)
	for _, r := range routes.All {
		h, err := d.Handler(r.Function)
		if err != nil {
			return nil, err
		}
		gw.Handle(r, h)
	}
	return gw, nil
}

// RunFunction is the whole main of a route function: it builds the handler
// once per cold start (settings, one DynamoDB client) and hands it to the
// Lambda runtime. It does no network I/O before the first invocation.
func RunFunction(function string) {
	h, err := FunctionHandler(context.Background(), function)
	if err != nil {
		slog.Error("cold start failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
