package adminapi

import (
	"context"
	"log/slog"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
)

// The shape the definition resources' edges share (holdouts, flags,
// metrics): each sits in front of the rest of the admin function and
// serves create, get, update and archive the same way; only parsing and
// the view differ.

// layered serves the routes of byRoute for an admin key and hands every
// other route to next.
func layered(logger *slog.Logger, byRoute map[string]endpoint, next httpapi.Handler) httpapi.Handler {
	serve := httpapi.Endpoint(logger, experiments.CodeFailed, apikey.RoleAdmin, func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
		return byRoute[req.RouteKey](ctx, req, caller.Actor())
	})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		if _, ok := byRoute[req.RouteKey]; ok {
			return serve(ctx, req)
		}
		return next(ctx, req)
	}
}

// view renders a definition as the API shows it.
type view[T, V any] func(T) (V, error)

// always is a view that cannot fail.
func always[T, V any](f func(T) V) view[T, V] {
	return func(x T) (V, error) { return f(x), nil }
}

func answer[T, V any](x T, err error, show view[T, V], ok func(any) httpapi.Result) (httpapi.Result, error) {
	if err != nil {
		return httpapi.Result{}, err
	}
	v, err := show(x)
	if err != nil {
		return httpapi.Result{}, err
	}
	return ok(v), nil
}

// createWith: POST the collection; 201 with the view.
func createWith[N, T, V any](parse func([]byte) (N, error), create func(ctx context.Context, by string, in N) (T, error), show view[T, V]) endpoint {
	return func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
		body, err := httpapi.Body(req)
		if err != nil {
			return httpapi.Result{}, err
		}
		in, err := parse(body)
		if err != nil {
			return httpapi.Result{}, err
		}
		x, err := create(ctx, admin, in)
		return answer(x, err, show, httpapi.Created)
	}
}

// getWith: GET one by its key.
func getWith[T, V any](get func(ctx context.Context, key string) (T, error), show view[T, V]) endpoint {
	return func(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
		x, err := get(ctx, req.PathParameters["key"])
		return answer(x, err, show, httpapi.OK)
	}
}

// updateWith: PATCH one; the key is checked before the body is read.
func updateWith[P, T, V any](checkKey func(string) error, parse func([]byte) (P, error), update func(ctx context.Context, by, key string, p P) (T, error), show view[T, V]) endpoint {
	return func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
		key := req.PathParameters["key"]
		if err := checkKey(key); err != nil {
			return httpapi.Result{}, err
		}
		body, err := httpapi.Body(req)
		if err != nil {
			return httpapi.Result{}, err
		}
		p, err := parse(body)
		if err != nil {
			return httpapi.Result{}, err
		}
		x, err := update(ctx, admin, key, p)
		return answer(x, err, show, httpapi.OK)
	}
}

// archiveWith: DELETE one; 204.
func archiveWith(archive func(ctx context.Context, by, key string) error) endpoint {
	return func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
		if err := archive(ctx, admin, req.PathParameters["key"]); err != nil {
			return httpapi.Result{}, err
		}
		return httpapi.NoContent(), nil
	}
}
