package adminapi

import (
	"context"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// KeyView is an API key as listed; Key (the secret) appears only in the
// response that created it.
type KeyView struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	CreatedAt  string  `json:"created_at"`
	CreatedBy  string  `json:"created_by"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
	Key        string  `json:"key,omitempty"`
	// SigningToken signs ABetterChoice-style requests with a server key
	// (X-Es); like Key, only in the response that created it.
	SigningToken string `json:"signing_token,omitempty"`
}

func keyViewOf(k *store.APIKey) KeyView {
	v := KeyView{ID: k.ID, Name: k.Name, Role: k.Role, CreatedAt: k.CreatedAt.Format(time.RFC3339Nano), CreatedBy: k.CreatedBy}
	if !k.LastUsedAt.IsZero() {
		s := k.LastUsedAt.Format(time.RFC3339Nano)
		v.LastUsedAt = &s
	}
	if k.Revoked() {
		s := k.RevokedAt.Format(time.RFC3339Nano)
		v.RevokedAt = &s
	}
	return v
}

func (e *edge) createKey(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	name, role, err := parseNewKey(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	plain, k, err := e.keys.Issue(ctx, admin, name, role)
	if err != nil {
		return httpapi.Result{}, err
	}
	v := keyViewOf(k)
	v.Key = plain
	v.SigningToken = e.keys.SigningToken(k)
	return httpapi.Created(v), nil
}

// KeysResponse is the body of the key listing.
type KeysResponse struct {
	APIKeys    []KeyView `json:"api_keys"`
	NextCursor *string   `json:"next_cursor"`
}

func (e *edge) listKeys(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := e.keys.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := KeysResponse{APIKeys: []KeyView{}, NextCursor: cursorOf(page.Next)}
	for _, k := range page.Items {
		out.APIKeys = append(out.APIKeys, keyViewOf(k))
	}
	return httpapi.OK(out), nil
}

func (e *edge) revokeKey(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	if err := e.keys.Revoke(ctx, req.PathParameters["id"]); err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}
