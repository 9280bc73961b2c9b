package apikey

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // ABetterChoice's signature scheme is md5; the token it covers is a 256-bit HMAC
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Signed requests (ABetterChoice's scheme): the caller sends its key id
// (X-Ak), the unix time (X-Et) and X-Es = hex md5(token + ak + et), where
// token is the key's signing token. The token is never stored: it is
// derived from the key id under the deployment's signing secret, which is
// held outside the table (Secrets Manager on AWS), so the table alone
// cannot sign.

// SignatureWindow is how far a signed request's time may be from ours.
const SignatureWindow = 5 * time.Minute

// signingLabel separates signing tokens from any other use of the secret.
const signingLabel = "abtest signing token v1\x00"

// SigningToken is key id's signing token under the deployment's signing
// secret: hex HMAC-SHA256(secret, label + id), 64 characters.
func SigningToken(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signingLabel + id))
	return hex.EncodeToString(m.Sum(nil))
}

// Signature is X-Es for token, ak and et: hex md5(token + ak + et).
func Signature(token, ak, et string) string {
	sum := md5.Sum([]byte(token + ak + et)) //nolint:gosec // the vendor's scheme
	return hex.EncodeToString(sum[:])
}

// SignatureMatches says whether sig (hex, any case) is the signature of ak
// and et by id's token, in constant time.
func SignatureMatches(secret, ak, et, sig string) bool {
	want := Signature(SigningToken(secret, ak), ak, et)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sig))) == 1
}

// SignedAt reads X-Et (unix seconds) and says whether it is within
// SignatureWindow of now.
func SignedAt(et string, now time.Time) (time.Time, bool) {
	if et == "" || len(et) > 12 || strings.TrimLeft(et, "0123456789") != "" {
		return time.Time{}, false
	}
	s, err := strconv.ParseInt(et, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	t := time.Unix(s, 0)
	d := now.Sub(t)
	return t, d <= SignatureWindow && d >= -SignatureWindow
}
