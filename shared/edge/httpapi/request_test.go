package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// asAPIError asserts err is an *fault.Error with status and code.
func asAPIError(t *testing.T, err error, status int, code string) *fault.Error {
	t.Helper()
	var e *fault.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *fault.Error", err, err)
	}
	if httpapi.Status(e.Kind) != status || e.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", httpapi.Status(e.Kind), e.Code, e.Message, status, code)
	}
	return e
}

func TestBody(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	atLimit := strings.Repeat("a", httpapi.MaxBodyBytes)
	over := atLimit + "a"
	binary := string([]byte{0xff, 0x00, 0xfe, 'x'})
	cases := []struct {
		name       string
		body       string
		base64     bool
		want       string
		wantStatus int // 0: success
		wantCode   string
	}{
		{name: "empty plain", body: "", want: ""},
		{name: "plain", body: `{"a":1}`, want: `{"a":1}`},
		{name: "plain at limit", body: atLimit, want: atLimit},
		{name: "plain over limit", body: over, wantStatus: http.StatusRequestEntityTooLarge, wantCode: fault.CodePayloadTooLarge},
		{name: "empty base64", body: "", base64: true, want: ""},
		{name: "base64", body: b64([]byte(`{"a":1}`)), base64: true, want: `{"a":1}`},
		{name: "base64 binary", body: b64([]byte(binary)), base64: true, want: binary},
		{name: "base64 at limit", body: b64([]byte(atLimit)), base64: true, want: atLimit},
		{name: "base64 one over limit", body: b64([]byte(over)), base64: true, wantStatus: http.StatusRequestEntityTooLarge, wantCode: fault.CodePayloadTooLarge},
		{name: "base64 far over limit", body: b64([]byte(strings.Repeat("z", 2*httpapi.MaxBodyBytes))), base64: true, wantStatus: http.StatusRequestEntityTooLarge, wantCode: fault.CodePayloadTooLarge},
		{name: "invalid base64", body: "not base64!", base64: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "bad padding", body: "YQ=", base64: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpapi.Body(httpapi.Request{Body: tc.body, IsBase64Encoded: tc.base64})
			if tc.wantStatus != 0 {
				e := asAPIError(t, err, tc.wantStatus, tc.wantCode)
				if tc.wantStatus == http.StatusRequestEntityTooLarge {
					if mb, ok := e.Details["max_bytes"]; !ok || mb != httpapi.MaxBodyBytes {
						t.Errorf("details = %v, want max_bytes=%d", e.Details, httpapi.MaxBodyBytes)
					}
				}
				if got != nil {
					t.Errorf("body returned alongside an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("body = %q (len %d), want len %d", truncate(string(got)), len(got), len(tc.want))
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestIsEmptyBody(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{"", true},
		{"   \n\t", true},
		{"null", true},
		{"  null \n", true},
		{"{}", false},
		{"nul", false},
		{"nullx", false},
		{"NULL", false},
		{`"null"`, false},
		{"0", false},
		{"[]", false},
	}
	for _, tc := range cases {
		if got := httpapi.IsEmptyBody([]byte(tc.body)); got != tc.want {
			t.Errorf("IsEmptyBody(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
	if !httpapi.IsEmptyBody(nil) {
		t.Errorf("IsEmptyBody(nil) = false")
	}
}

type decodeDst struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	Ratio  float64 `json:"ratio"`
	Nested struct {
		Flag bool `json:"flag"`
	} `json:"nested"`
	Any any `json:"any"`
}

func TestDecodeObject(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		strict     bool
		wantStatus int // 0: success
		wantCode   string
		wantField  string // details.fields key for type errors
		check      func(t *testing.T, d decodeDst)
	}{
		{name: "valid strict", body: `{"name":"x","count":2,"ratio":0.5,"nested":{"flag":true}}`, strict: true,
			check: func(t *testing.T, d decodeDst) {
				if d.Name != "x" || d.Count != 2 || d.Ratio != 0.5 || !d.Nested.Flag {
					t.Errorf("decoded %+v", d)
				}
			}},
		{name: "surrounding whitespace", body: " \n {\"name\":\"x\"} \n ", strict: true,
			check: func(t *testing.T, d decodeDst) {
				if d.Name != "x" {
					t.Errorf("decoded %+v", d)
				}
			}},
		{name: "numbers kept as json.Number", body: `{"any":12345678901234567890}`, strict: true,
			check: func(t *testing.T, d decodeDst) {
				if n, ok := d.Any.(json.Number); !ok || n.String() != "12345678901234567890" {
					t.Errorf("any = %#v, want json.Number", d.Any)
				}
			}},
		{name: "unknown field lenient", body: `{"name":"x","extra":1}`, strict: false,
			check: func(t *testing.T, d decodeDst) {
				if d.Name != "x" {
					t.Errorf("decoded %+v", d)
				}
			}},
		{name: "unknown field strict", body: `{"name":"x","extra":1}`, strict: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeValidationFailed},
		{name: "empty", body: "", wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "blank", body: "  \n", wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "null", body: "null", wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "array", body: `[{"name":"x"}]`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "string", body: `"x"`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "number", body: `1`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "truncated", body: `{"name":`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "syntax error", body: `{"name" "x"}`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "trailing object", body: `{"name":"x"}{}`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "trailing garbage", body: `{"name":"x"} x`, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "trailing value", body: `{"name":"x"} 1`, strict: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeInvalidJSON},
		{name: "string for int", body: `{"count":"two"}`, strict: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeValidationFailed, wantField: "count"},
		{name: "number for string lenient", body: `{"name":5}`, strict: false, wantStatus: http.StatusBadRequest, wantCode: fault.CodeValidationFailed, wantField: "name"},
		{name: "fraction for int", body: `{"count":1.5}`, strict: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeValidationFailed, wantField: "count"},
		{name: "nested type error", body: `{"nested":{"flag":"yes"}}`, strict: true, wantStatus: http.StatusBadRequest, wantCode: fault.CodeValidationFailed, wantField: "nested.flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d decodeDst
			err := httpapi.DecodeObject([]byte(tc.body), &d, tc.strict)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				tc.check(t, d)
				return
			}
			e := asAPIError(t, err, tc.wantStatus, tc.wantCode)
			if e.Message == "" {
				t.Errorf("empty message")
			}
			if tc.wantField == "" {
				return
			}
			fields, ok := e.Details["fields"].(map[string]string)
			if !ok {
				t.Fatalf("details = %#v, want fields map", e.Details)
			}
			if msg, ok := fields[tc.wantField]; !ok || !strings.HasPrefix(msg, "must be a ") {
				t.Errorf("fields = %v, want an entry for %q", fields, tc.wantField)
			}
			// The details must also survive rendering as an object.
			resp := httpapi.ErrorResponse(err, "X", "r-1")
			_, _, details := errorFields(t, resp)
			if _, ok := details["fields"].(map[string]any); !ok {
				t.Errorf("rendered details lack fields object: %s", resp.Body)
			}
		})
	}
}

func TestExperimentKey(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]string
		want   string
		ok     bool
	}{
		{"simple", map[string]string{"key": "checkout_v2"}, "checkout_v2", true},
		{"digits and dash", map[string]string{"key": "0-a"}, "0-a", true},
		{"max length", map[string]string{"key": strings.Repeat("k", experiment.MaxKeyLen)}, strings.Repeat("k", experiment.MaxKeyLen), true},
		{"too long", map[string]string{"key": strings.Repeat("k", experiment.MaxKeyLen+1)}, "", false},
		{"upper case", map[string]string{"key": "Checkout"}, "", false},
		{"leading dash", map[string]string{"key": "-a"}, "", false},
		{"leading underscore", map[string]string{"key": "_a"}, "", false},
		{"space", map[string]string{"key": "a b"}, "", false},
		{"slash", map[string]string{"key": "a/b"}, "", false},
		{"empty", map[string]string{"key": ""}, "", false},
		{"missing", map[string]string{}, "", false},
		{"nil params", nil, "", false},
		{"non-ascii", map[string]string{"key": "ü"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpapi.ExperimentKey(httpapi.Request{PathParameters: tc.params})
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("ExperimentKey = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			e := asAPIError(t, err, http.StatusBadRequest, fault.CodeInvalidKey)
			if got != "" {
				t.Errorf("key %q returned with error", got)
			}
			if e.Details["pattern"] != experiment.KeyPattern {
				t.Errorf("details = %v, want pattern %q", e.Details, experiment.KeyPattern)
			}
			if !strings.Contains(e.Message, experiment.KeyPattern) {
				t.Errorf("message %q lacks the pattern", e.Message)
			}
		})
	}
}

// TestDecodeMessagesSpeakJSON: decoding errors name the field and what was
// expected in JSON's terms, never Go's ("json: unknown field", "Go struct
// field", "of type string").
func TestDecodeMessagesSpeakJSON(t *testing.T) {
	for body, want := range map[string]string{
		`{"name":"x","extra":1}`:   `extra is not a known field`,
		`{"count":"two"}`:          `count must be a whole number`,
		`{"name":5}`:               `name must be a string`,
		`{"nested":{"flag":"no"}}`: `nested.flag must be a boolean (true or false)`,
	} {
		var d decodeDst
		err := httpapi.DecodeObject([]byte(body), &d, true)
		f, ok := fault.As(err)
		if !ok || f.Message != want {
			t.Errorf("%s: %v, want %q", body, err, want)
			continue
		}
		for _, internal := range []string{"json:", "Go ", "struct", "unmarshal"} {
			if strings.Contains(f.Message, internal) {
				t.Errorf("%s: message %q shows Go internals", body, f.Message)
			}
		}
	}
}
