// Package adminclient is an HTTP client of the admin API, for the tools an
// operator runs against a deployed stack (the abtest CLI and its stdio MCP
// server). It speaks the API as docs/openapi.yaml describes it: the API key
// header, JSON bodies, the error body, cursor pages.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one deployment's admin API with one credential: an admin
// API key, or an admin token (a JWT the deployment accepts as admin).
type Client struct {
	base  string
	key   string
	token string
	http  *http.Client
}

// New returns a client of the API at base (e.g.
// https://abc.execute-api.eu-west-1.amazonaws.com) using API key key.
func New(base, key string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the API URL %q is not an http(s) URL", base)
	}
	return &Client{base: strings.TrimSuffix(base, "/"), key: key, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// NewWithToken is New signing in with an admin token (sent as
// Authorization: Bearer) instead of an API key.
func NewWithToken(base, token string) (*Client, error) {
	c, err := New(base, "")
	if err != nil {
		return nil, err
	}
	c.token = token
	return c, nil
}

// APIError is the API's answer to a refused request: its error body, or
// API Gateway's own {"message"} (Code is then HTTP_<status>).
type APIError struct {
	Status    int
	Code      string
	Message   string
	Details   map[string]any
	RequestID string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// AsAPIError returns err's APIError, if it is one.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// Do sends one request; body (if not nil) is sent as JSON, and a 2xx JSON
// answer is decoded into out (if not nil). Any other answer is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	raw, _, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// Raw is Do returning the body as it came, and its content type.
func (c *Client) Raw(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	return c.send(ctx, method, path, query, body)
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return nil, nil, fmt.Errorf("encode the request: %w", err)
			}
		}
		rd = bytes.NewReader(b)
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		req.Header.Set("X-Api-Key", c.key)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, resp.Header, nil
	}
	return nil, nil, apiError(resp.StatusCode, raw)
}

func apiError(status int, raw []byte) *APIError {
	var body struct {
		Error *struct {
			Code      string         `json:"code"`
			Message   string         `json:"message"`
			Details   map[string]any `json:"details"`
			RequestID string         `json:"request_id"`
		} `json:"error"`
		Message string `json:"message"`
	}
	e := &APIError{Status: status, Code: fmt.Sprintf("HTTP_%d", status), Message: http.StatusText(status)}
	if json.Unmarshal(raw, &body) != nil {
		return e
	}
	if body.Error != nil && body.Error.Code != "" {
		e.Code, e.Message, e.Details, e.RequestID = body.Error.Code, body.Error.Message, body.Error.Details, body.Error.RequestID
	} else if body.Message != "" {
		e.Message = body.Message
	}
	return e
}

// PageSize is the page size All asks for (the API's largest).
const PageSize = 100

// All reads every page of a listing at path: the items of field of each
// page, following next_cursor until the last page. max > 0 stops after that
// many items.
func (c *Client) All(ctx context.Context, path string, query url.Values, field string, max int) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", fmt.Sprint(PageSize))
	var out []json.RawMessage
	for {
		var page map[string]json.RawMessage
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[field], &items); err != nil {
			return nil, fmt.Errorf("GET %s: the answer has no %q list", path, field)
		}
		out = append(out, items...)
		if max > 0 && len(out) >= max {
			return out[:max], nil
		}
		var next *string
		_ = json.Unmarshal(page["next_cursor"], &next)
		if next == nil || *next == "" {
			return out, nil
		}
		q.Set("cursor", *next)
	}
}

// PathKey escapes a key or id for a path segment.
func PathKey(s string) string { return url.PathEscape(s) }
