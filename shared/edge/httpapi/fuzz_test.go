package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// fzAPIError returns err as an *fault.Error, failing unless it is one with
// a 4xx status, a code and a message, that renders as the API's error body.
func fzAPIError(t *testing.T, err error) *fault.Error {
	t.Helper()
	var e *fault.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *fault.Error", err, err)
	}
	if httpapi.Status(e.Kind) < 400 || httpapi.Status(e.Kind) > 499 || e.Code == "" || e.Message == "" {
		t.Fatalf("error %+v: want a 4xx with code and message", e)
	}
	resp := httpapi.ErrorResponse(err, "X", "r-1")
	var body struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if resp.StatusCode != httpapi.Status(e.Kind) || json.Unmarshal([]byte(resp.Body), &body) != nil ||
		body.Error.Code != e.Code || !bytes.HasPrefix(body.Error.Details, []byte("{")) {
		t.Fatalf("error renders as %d %s", resp.StatusCode, resp.Body)
	}
	return e
}

// fzDst has a field of every kind request bodies decode into.
type fzDst struct {
	Name   *string            `json:"name"`
	Count  int                `json:"count"`
	Small  uint8              `json:"small"`
	Ratio  float64            `json:"ratio"`
	Flag   bool               `json:"flag"`
	Tags   []string           `json:"tags"`
	Map    map[string]int     `json:"map"`
	Raw    json.RawMessage    `json:"raw"`
	Any    any                `json:"any"`
	Nested *struct{ X int64 } `json:"nested"`
}

var fzJSONSeeds = []string{
	``, ` `, "\n\t ", `null`, ` null `, `nul`, `NULL`, `"null"`, `0`, `1e999`, `-`, `"x"`, `true`, `[]`, `[{}]`, `[{"name":"x"}]`,
	`{}`, ` {} `, `{`, `}`, `{"name":`, `{"name" "x"}`, `{"name":"x"}`, `{"name":null}`, `{"name":"x","name":"y"}`,
	`{"name":"x"}{}`, `{"name":"x"} x`, `{"name":"x"} 1`, `{"name":"x"}]`, `{} ,`, `{}}`, `{"extra":1}`, `{"NAME":"x"}`,
	`{"count":"two"}`, `{"count":1.5}`, `{"count":1e2}`, `{"count":99999999999999999999}`, `{"count":-0}`, `{"count":"NaN"}`,
	`{"count":NaN}`, `{"ratio":Infinity}`, `{"ratio":1e400}`, `{"ratio":-1e-400}`, `{"small":256}`, `{"small":-1}`,
	`{"flag":"yes"}`, `{"flag":1}`, `{"tags":"x"}`, `{"tags":[1]}`, `{"tags":[null]}`, `{"map":{"a":"b"}}`, `{"map":[]}`,
	`{"raw":{"deep":[1,2,{"x":null}]}}`, `{"any":12345678901234567890}`, `{"nested":{"X":"1"}}`, `{"nested":{"x":1,"y":2}}`,
	`{"name":"\ud800"}`, `{"name":"\u0000"}`, "{\"name\":\"\xff\xfe\"}", "{\"na\xffme\":1}", `{"name":"ü日本😀"}`,
	"\xef\xbb\xbf{}", "{}\x00", "{}\v", "\f{}\u0085", "{}\u00a0", `{"a":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`,
}

// FuzzDecodeObject: any body either decodes (then it was a JSON object,
// give or take surrounding white space, and not an "empty" body) or fails with a 400 INVALID_JSON or
// VALIDATION_FAILED *fault.Error; never a panic.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range fzJSONSeeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, strict bool) {
		for _, dst := range []any{&fzDst{}, &map[string]any{}, &struct{}{}} {
			err := httpapi.DecodeObject(body, dst, strict)
			if err == nil {
				// Accepted: exactly a JSON object in valid UTF-8.
				if httpapi.IsEmptyBody(body) || !json.Valid(body) || !utf8.Valid(body) || httpapi.TrimJSONSpace(body)[0] != '{' {
					t.Fatalf("DecodeObject accepted %q", body)
				}
				continue
			}
			e := fzAPIError(t, err)
			if httpapi.Status(e.Kind) != http.StatusBadRequest || (e.Code != fault.CodeInvalidJSON && e.Code != fault.CodeValidationFailed) {
				t.Fatalf("DecodeObject(%q) = %d %s, want 400 INVALID_JSON or VALIDATION_FAILED", body, httpapi.Status(e.Kind), e.Code)
			}
		}
	})
}

// FuzzIsEmptyBody: only blank, absent or JSON null bodies are empty.
func FuzzIsEmptyBody(f *testing.F) {
	for _, s := range fzJSONSeeds[:16] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		t2 := bytes.Trim(body, " \t\r\n")
		want := len(t2) == 0 || string(t2) == "null"
		if got := httpapi.IsEmptyBody(body); got != want {
			t.Fatalf("IsEmptyBody(%q) = %v, want %v", body, got, want)
		}
	})
}

// FuzzBody: a body comes back as the same bytes (decoded when flagged
// base64) of at most MaxBodyBytes, or the request is refused with 400
// (malformed base64) or 413 PAYLOAD_TOO_LARGE.
func FuzzBody(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString
	atLimit := strings.Repeat("a", httpapi.MaxBodyBytes)
	for _, s := range []string{"", "{}", `{"a":1}`, "not base64!", "YQ=", "YQ==", "YQ", "YR==", "Y Q==", "YQ==\n", "\r\nYQ==", "====",
		"\xff\xfe", b64([]byte{0xff, 0x00, 0xfe}), b64([]byte(`{"variant":"b"}`)), "eyJhIjoxfQ", "eyJhIjoxfQ==", "-_-_", "+/+/"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Add(atLimit, false)
	f.Add(atLimit+"a", false)
	f.Add(b64([]byte(atLimit)), true)
	f.Add(b64([]byte(atLimit+"a")), true)
	f.Add(b64([]byte(atLimit[:len(atLimit)-2])), true)
	f.Add(b64([]byte(atLimit))+"====", true)
	f.Fuzz(func(t *testing.T, body string, isB64 bool) {
		got, err := httpapi.Body(httpapi.Request{Body: body, IsBase64Encoded: isB64})
		if err != nil {
			if got != nil {
				t.Fatalf("body returned alongside an error")
			}
			e := fzAPIError(t, err)
			if !(httpapi.Status(e.Kind) == http.StatusBadRequest && e.Code == fault.CodeInvalidJSON) &&
				!(httpapi.Status(e.Kind) == http.StatusRequestEntityTooLarge && e.Code == fault.CodePayloadTooLarge) {
				t.Fatalf("Body = %d %s, want 400 INVALID_JSON or 413 PAYLOAD_TOO_LARGE", httpapi.Status(e.Kind), e.Code)
			}
		}
		if !isB64 {
			if (len(body) > httpapi.MaxBodyBytes) != (err != nil) {
				t.Fatalf("plain body of %d bytes: err %v", len(body), err)
			}
			if err == nil && string(got) != body {
				t.Fatalf("plain body changed")
			}
			return
		}
		want, werr := base64.StdEncoding.DecodeString(body)
		switch {
		case err == nil && (werr != nil || !bytes.Equal(got, want)):
			t.Fatalf("base64 body %q decoded to %q, want %q (%v)", body, got, want, werr)
		case err == nil && len(got) > httpapi.MaxBodyBytes:
			t.Fatalf("base64 body of %d decoded bytes accepted", len(got))
		case werr == nil && len(want) > httpapi.MaxBodyBytes:
			if e := fzAPIError(t, err); httpapi.Status(e.Kind) != http.StatusRequestEntityTooLarge {
				t.Fatalf("base64 body of %d decoded bytes: %d", len(want), httpapi.Status(e.Kind))
			}
		case werr == nil && err != nil && !strings.ContainsAny(body, "\r\n"):
			// Line breaks are skipped by the decoder but counted by the
			// size pre-check; API Gateway never sends them.
			t.Fatalf("valid base64 body of %d decoded bytes refused: %v", len(want), err)
		}
	})
}

// FuzzExperimentKey: the {key} path parameter is accepted exactly when it
// matches experiment.KeyPattern, else 400 INVALID_KEY.
func FuzzExperimentKey(f *testing.F) {
	for _, s := range []string{"", "a", "checkout_v2", "0-a", "-a", "_a", "A", "a b", "a/b", "a%2Fb", "ü", "\xff", "a\n",
		strings.Repeat("k", experiment.MaxKeyLen), strings.Repeat("k", experiment.MaxKeyLen+1)} {
		f.Add(s, true)
	}
	f.Add("", false)
	re := regexp.MustCompile(experiment.KeyPattern)
	f.Fuzz(func(t *testing.T, key string, present bool) {
		params := map[string]string{"other": key}
		if present {
			params["key"] = key
		}
		got, err := httpapi.ExperimentKey(httpapi.Request{PathParameters: params})
		want := present && re.MatchString(key)
		if want {
			if err != nil || got != key {
				t.Fatalf("ExperimentKey(%q) = %q, %v", key, got, err)
			}
			return
		}
		if err == nil || got != "" {
			t.Fatalf("ExperimentKey(%q) accepted", key)
		}
		if e := fzAPIError(t, err); httpapi.Status(e.Kind) != http.StatusBadRequest || e.Code != fault.CodeInvalidKey {
			t.Fatalf("ExperimentKey(%q) = %d %s", key, httpapi.Status(e.Kind), e.Code)
		}
	})
}

// FuzzAuthorize: any authorizer context yields either the caller it names
// (right role, a key id, a valid user id for clients) or 401/403.
func FuzzAuthorize(f *testing.F) {
	const all uint8 = 0x1f
	f.Add("client", "k1", "user-42", "", "", all&^0x08, uint8(0), true)
	f.Add("admin", "k2", "", "", "", uint8(0x03), uint8(0), false)
	f.Add("admin", "k2", "", "", "", uint8(0x03), uint8(0), true)
	f.Add("client", "k1", "", "", "", uint8(0x03), uint8(0), true)
	f.Add("client", "k1", "a\nb", "", "", uint8(0x07), uint8(0), true)
	f.Add("client", "k1", "\xff", "", "", uint8(0x07), uint8(0), true)
	f.Add("client", "k1", strings.Repeat("u", httpapi.MaxUserIDLen+1), "", "", uint8(0x07), uint8(0), true)
	f.Add("client", "k1", "u", "", "", uint8(0x27), uint8(0), true)
	f.Add("admin", "k1", "", "", "", uint8(0x43), uint8(0), false)
	f.Add("", "", "", "UNAUTHENTICATED", "missing X-Api-Key header", uint8(0x18), uint8(0), false)
	f.Add("", "", "", "FORBIDDEN", "no", uint8(0x18), uint8(0), true)
	f.Add("admin", "k", "", "FORBIDDEN", "", all, uint8(0), false)
	f.Add("admin", "k", "", "", "", uint8(0x00), uint8(0), false)
	f.Add("admin", "k", "", "x", "", uint8(0x0b), uint8(0x08), false)
	f.Add("admin", "k", "", "", "", uint8(0x03), uint8(0x03), false)
	f.Add("ADMIN", "k", "", "", "", uint8(0x03), uint8(0), false)
	f.Fuzz(func(t *testing.T, role, keyID, userID, code, msg string, present, nonString uint8, clientRoute bool) {
		// present: which keys are in the context (bit 0x20: no authorizer
		// at all, 0x40: one without a context); nonString: which of them
		// hold a number instead of a string.
		names := []string{httpapi.CtxRole, httpapi.CtxKeyID, httpapi.CtxUserID, httpapi.CtxError, httpapi.CtxMessage}
		values := []string{role, keyID, userID, code, msg}
		lambda := map[string]any{}
		str := map[string]string{}
		for i, n := range names {
			if present&(1<<i) == 0 {
				continue
			}
			if nonString&(1<<i) != 0 {
				lambda[n] = float64(len(values[i]))
				continue
			}
			lambda[n], str[n] = values[i], values[i]
		}
		req := httpapi.Request{}
		switch {
		case present&0x20 != 0: // no authorizer
		case present&0x40 != 0: // an authorizer without a context
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{}
		default:
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambda}
		}
		want := apikey.RoleAdmin
		if clientRoute {
			want = apikey.RoleClient
		}
		c, err := httpapi.Authorize(req, want)
		if err == nil {
			if present&0x60 != 0 || str[httpapi.CtxError] != "" || c.Role != want || c.KeyID == "" || c.KeyID != str[httpapi.CtxKeyID] ||
				(want == apikey.RoleClient && (!httpapi.ValidUserID(c.UserID) || c.UserID != str[httpapi.CtxUserID])) {
				t.Fatalf("Authorize(%v, %s) = %+v", lambda, want, c)
			}
			return
		}
		if c != (httpapi.Caller{}) {
			t.Fatalf("caller %+v returned with %v", c, err)
		}
		e := fzAPIError(t, err)
		switch {
		case httpapi.Status(e.Kind) == http.StatusUnauthorized && e.Code == fault.CodeUnauthenticated:
		case httpapi.Status(e.Kind) == http.StatusForbidden && e.Code == fault.CodeForbidden:
			if str[httpapi.CtxError] != fault.CodeForbidden && (str[httpapi.CtxError] != "" || apikey.Role(str[httpapi.CtxRole]) == want) {
				t.Fatalf("403 for %v on a %s route", lambda, want)
			}
		default:
			t.Fatalf("Authorize = %d %s, want 401 or 403", httpapi.Status(e.Kind), e.Code)
		}
	})
}

// FuzzValidUserID: accepted ids are 1-256 bytes of UTF-8 without control
// characters.
func FuzzValidUserID(f *testing.F) {
	for _, s := range []string{"", "u", "user-42", "ü日本😀", "a b", "a\nb", "a\x00", "\x7f", "\u0085", "\xff", "\xe6\x97", "\u2028", "\ufffd",
		strings.Repeat("u", httpapi.MaxUserIDLen), strings.Repeat("u", httpapi.MaxUserIDLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := id != "" && len(id) <= httpapi.MaxUserIDLen && utf8.ValidString(id) &&
			strings.IndexFunc(id, func(r rune) bool { return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) }) < 0
		if got := httpapi.ValidUserID(id); got != want {
			t.Fatalf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
	})
}
