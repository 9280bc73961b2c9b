package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/abtest/abtest/shared/auth"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/store"
)

// CodeKeyNotFound answers a revocation of an unknown key.
const CodeKeyNotFound = "API_KEY_NOT_FOUND"

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

func (s *service) createKey(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	errs := map[string]string{}
	f, ok := newForm(body, "", errs, "name", "role")
	if !ok {
		return httpapi.Result{}, invalidJSON()
	}
	name, _ := f.str("name", true, MaxNameLen)
	role, _ := f.str("role", true, 16)
	if role != "" && role != string(httpapi.RoleClient) && role != string(httpapi.RoleAdmin) {
		f.fail("role", "must be client or admin")
	}
	if err := result(errs); err != nil {
		return httpapi.Result{}, err
	}
	plain, k, err := auth.IssueKey(ctx, s.store, name, httpapi.Role(role), admin, s.now())
	if err != nil {
		return httpapi.Result{}, err
	}
	v := keyViewOf(k)
	v.Key = plain
	return httpapi.Created(v), nil
}

// KeysResponse is the body of the key listing.
type KeysResponse struct {
	APIKeys    []KeyView `json:"api_keys"`
	NextCursor *string   `json:"next_cursor"`
}

func (s *service) listKeys(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, result(map[string]string{"limit": lerr})
	}
	page, err := s.store.ListAPIKeys(ctx, limit, req.QueryStringParameters["cursor"])
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.Result{}, badCursor()
	}
	if err != nil {
		return httpapi.Result{}, err
	}
	out := KeysResponse{APIKeys: []KeyView{}, NextCursor: cursorOf(page.Next)}
	for _, k := range page.Items {
		out.APIKeys = append(out.APIKeys, keyViewOf(k))
	}
	return httpapi.OK(out), nil
}

func (s *service) revokeKey(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	id := req.PathParameters["id"]
	notFound := httpapi.NewError(http.StatusNotFound, CodeKeyNotFound, "no such API key")
	if !auth.ValidKeyID(id) {
		return httpapi.Result{}, notFound
	}
	if _, err := s.store.RevokeAPIKey(ctx, id, s.now()); errors.Is(err, store.ErrNotFound) {
		return httpapi.Result{}, notFound
	} else if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}
