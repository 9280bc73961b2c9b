package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// JWKS holds an identity provider's public keys: from inline JSON, or from a
// URL fetched on first use and again when a token names an unknown key id
// (key rotation), at most once per refreshEvery.
//
// Keys the service cannot use (other key types or curves, RSA keys under
// 2048 bits, malformed keys) are skipped and logged, so that one such key
// does not take the provider's good keys down with it; a set without any
// usable key is an error.
type JWKS struct {
	url    string
	client *http.Client
	now    func() time.Time
	logger *slog.Logger

	mu          sync.Mutex
	keys        map[string]any // kid -> *rsa.PublicKey | *ecdsa.PublicKey
	lastFetched time.Time      // last successful fetch
	lastFailed  time.Time      // last failed fetch, zero after a success
}

// refreshEvery bounds refetches for unknown key ids after a success;
// retryAfterFailure bounds them after a failure, so an outage of the
// provider neither hammers it nor turns valid tokens into 401s.
const (
	refreshEvery      = 30 * time.Second
	retryAfterFailure = 2 * time.Second
)

// maxJWKSBytes bounds what a JWKS fetch reads.
const maxJWKSBytes = 1 << 20

// JWKSOption configures a JWKS.
type JWKSOption func(*JWKS)

// JWKSLogger sets where skipped keys are reported (default slog.Default()).
func JWKSLogger(l *slog.Logger) JWKSOption {
	return func(j *JWKS) {
		if l != nil {
			j.logger = l
		}
	}
}

func newJWKS(opts []JWKSOption) *JWKS {
	j := &JWKS{now: time.Now, logger: slog.Default(), keys: map[string]any{}}
	for _, o := range opts {
		o(j)
	}
	return j
}

// NewJWKSFromJSON parses an inline JWKS.
func NewJWKSFromJSON(doc string, opts ...JWKSOption) (*JWKS, error) {
	j := newJWKS(opts)
	keys, err := j.parse(context.Background(), []byte(doc))
	if err != nil {
		return nil, err
	}
	j.keys = keys
	return j, nil
}

// NewJWKSFromURL returns a JWKS fetched lazily from url with client.
func NewJWKSFromURL(url string, client *http.Client, opts ...JWKSOption) *JWKS {
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	j := newJWKS(opts)
	j.url, j.client = url, client
	return j
}

// ErrJWKSUnavailable: the keys could not be fetched; not the token's fault.
var ErrJWKSUnavailable = errors.New("JWKS unavailable")

// ErrUnknownKey: no key with the token's key id (after a refresh).
var ErrUnknownKey = errors.New("unknown signing key")

// Key returns the public key for kid, checked against the token's algorithm
// so a key of one type can never verify another type's signature.
func (j *JWKS) Key(ctx context.Context, kid, alg string) (any, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	key, ok := j.lookup(kid)
	if !ok && j.url != "" {
		now := j.now()
		switch {
		case now.Sub(j.lastFailed) < retryAfterFailure:
			// The provider was unreachable a moment ago: say so (a 500,
			// which API Gateway does not cache) rather than blame the token.
			return nil, fmt.Errorf("%w: last fetch failed %s ago", ErrJWKSUnavailable, now.Sub(j.lastFailed).Round(time.Millisecond))
		case now.Sub(j.lastFetched) >= refreshEvery:
			keys, err := j.fetch(ctx)
			if err != nil {
				j.lastFailed = now
				return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable, err)
			}
			j.lastFetched, j.lastFailed = now, time.Time{}
			j.keys = keys
			key, ok = j.lookup(kid)
		}
	}
	if !ok {
		return nil, ErrUnknownKey
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg == "RS256" {
			return k, nil
		}
	case *ecdsa.PublicKey:
		if alg == "ES256" && k.Curve == elliptic.P256() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("key %q does not fit algorithm %s", kid, alg)
}

// lookup finds kid; a token without kid is accepted only when the set has
// exactly one key.
func (j *JWKS) lookup(kid string) (any, bool) {
	if kid == "" {
		if len(j.keys) == 1 {
			for _, k := range j.keys {
				return k, true
			}
		}
		return nil, false
	}
	k, ok := j.keys[kid]
	return k, ok
}

func (j *JWKS) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	return j.parse(ctx, body)
}

// parse reads a JWKS document and logs the keys it skips.
func (j *JWKS) parse(ctx context.Context, doc []byte) (map[string]any, error) {
	keys, skipped, err := parseJWKS(doc)
	for _, s := range skipped {
		j.logger.WarnContext(ctx, "JWKS key skipped", "kid", s.kid, "kty", s.kty, "crv", s.crv, "reason", s.reason)
	}
	return keys, err
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// skippedKey is a key of a JWKS document that parseJWKS left out.
type skippedKey struct{ kid, kty, crv, reason string }

// parseJWKS reads the RSA (2048 bits or more) and P-256 signing keys of a
// JWKS document. Other keys are skipped, silently when they are not for
// signatures ("use" other than "sig"), else reported in skipped: an error
// only when no usable key remains.
func parseJWKS(doc []byte) (keys map[string]any, skipped []skippedKey, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, nil, fmt.Errorf("parse JWKS: %w", err)
	}
	keys = map[string]any{}
	for _, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			skipped = append(skipped, skippedKey{reason: "not a JWK: " + err.Error()})
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var pub any
		switch k.Kty {
		case "RSA":
			pub, err = rsaKey(k)
		case "EC":
			pub, err = ecKey(k)
		default:
			err = fmt.Errorf("unsupported key type %q", k.Kty)
		}
		if err != nil {
			skipped = append(skipped, skippedKey{kid: k.Kid, kty: k.Kty, crv: k.Crv, reason: err.Error()})
			continue
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		msg := "parse JWKS: no RSA (2048 bits or more) or P-256 signing key"
		for i, s := range skipped {
			if i == 3 {
				msg += fmt.Sprintf("; and %d more", len(skipped)-i)
				break
			}
			msg += fmt.Sprintf("; skipped key %q: %s", s.kid, s.reason)
		}
		return nil, skipped, errors.New(msg)
	}
	return keys, skipped, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url number")
	}
	return new(big.Int).SetBytes(b), nil
}

func rsaKey(k jwk) (*rsa.PublicKey, error) {
	n, err := b64int(k.N)
	if err != nil {
		return nil, err
	}
	e, err := b64int(k.E)
	if err != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
		return nil, errors.New("bad RSA exponent")
	}
	if n.BitLen() < 2048 {
		return nil, errors.New("RSA key shorter than 2048 bits")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func ecKey(k jwk) (*ecdsa.PublicKey, error) {
	if k.Crv != "P-256" {
		return nil, fmt.Errorf("unsupported curve %q", k.Crv)
	}
	x, err := b64int(k.X)
	if err != nil {
		return nil, err
	}
	y, err := b64int(k.Y)
	if err != nil {
		return nil, err
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if !pub.Curve.IsOnCurve(x, y) {
		return nil, errors.New("point not on P-256")
	}
	return pub, nil
}
