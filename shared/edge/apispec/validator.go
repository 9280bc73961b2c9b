package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Validator checks exchanges (a request and the response it got) against
// the document, and counts the operations it has checked, so a test can
// tell which routes no test reached.
type Validator struct {
	doc     *openapi3.T
	schemas *schemas
	paths   []docPath
	// gatewayCodes are the codes any request may get from the gateway in
	// front of the routes (x-gateway-error-codes).
	gatewayCodes []string

	mu      sync.Mutex
	checked map[string]int
}

type docPath struct {
	template string
	segments []string
	item     *openapi3.PathItem
}

// NewValidator loads the document.
func NewValidator(ctx context.Context) (*Validator, error) {
	doc, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	sch, err := newSchemas(doc)
	if err != nil {
		return nil, err
	}
	v := &Validator{doc: doc, schemas: sch, checked: map[string]int{}, gatewayCodes: stringList(doc.Extensions["x-gateway-error-codes"])}
	for template, item := range doc.Paths.Map() {
		v.paths = append(v.paths, docPath{template: template, segments: strings.Split(strings.TrimPrefix(template, "/"), "/"), item: item})
	}
	return v, nil
}

// ErrNoOperation: the request is to no documented operation (the gateway's
// own 404, or a route missing from the document: the route test names it).
var ErrNoOperation = errors.New("no operation of docs/openapi.yaml matches the request")

// Exchange is one request and the response it got.
type Exchange struct {
	Request     *http.Request // its Body is not read: RequestBody is
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// Check validates an exchange: the response must be one the operation
// documents (its status, headers, body, and for an error its code among the
// status's x-error-codes). A request the document does not allow must have
// been refused with a 4xx; an allowed one is not required to succeed.
func (v *Validator) Check(ctx context.Context, x Exchange) error {
	route, params, ok := v.find(x.Request.Method, x.Request.URL.Path)
	if !ok {
		return fmt.Errorf("%s %s: %w", x.Request.Method, x.Request.URL.Path, ErrNoOperation)
	}
	key := x.Request.Method + " " + route.Path
	req := x.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	req.ContentLength = int64(len(x.RequestBody))
	if len(x.RequestBody) > 0 {
		// Every route reads its body as JSON whatever the header says (curl
		// -d sends a form type), and the document says so.
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true,
			ExcludeRequestBody: true, ExcludeResponseBody: true, // checked below, with schemas compiled once
		},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil {
		reqErr = v.checkRequestBody(route, x.RequestBody)
	}
	if reqErr != nil && (x.Status < 400 || x.Status > 499) {
		return fmt.Errorf("%s: a request the document does not allow was answered %d, not 4xx: %v", key, x.Status, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header.Clone(), Options: in.Options}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: %d response does not match docs/openapi.yaml: %w", key, x.Status, err)
	}
	if err := v.checkResponseBody(route, x); err != nil {
		return fmt.Errorf("%s: %d response does not match docs/openapi.yaml: %w\nbody: %s", key, x.Status, err, truncate(x.Body))
	}
	if err := v.checkCode(route.Operation, x.Status, x.Body); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	v.mu.Lock()
	v.checked[key]++
	v.mu.Unlock()
	return nil
}

// checkRequestBody checks a JSON request body against the operation's.
func (v *Validator) checkRequestBody(route *routers.Route, body []byte) error {
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if rb.Value.Required {
			return errors.New("the request body is required")
		}
		return nil
	}
	return v.schemas.validate(requestPointer(route.Path, route.Method, rb), body)
}

// checkResponseBody checks a response body against the schema of its
// status and media type (kin-openapi has checked both are documented).
func (v *Validator) checkResponseBody(route *routers.Route, x Exchange) error {
	ref := route.Operation.Responses.Status(x.Status)
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		if len(x.Body) > 0 {
			return errors.New("a body where the document has none")
		}
		return nil
	}
	mt := mediaType(x.Header)
	media := ref.Value.Content.Get(mt)
	if media == nil || media.Schema == nil {
		return nil
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return v.schemas.validate(responsePointer(route.Path, route.Method, x.Status, ref, mt), x.Body)
	case mt == "application/x-ndjson":
		return jsonLines(x.Body)
	}
	return nil
}

// checkCode: an error body's code must be one its status documents.
func (v *Validator) checkCode(op *openapi3.Operation, status int, body []byte) error {
	if status < 400 {
		return nil
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return nil // API Gateway's own {"message"}: its schema was checked
	}
	ref := op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil
	}
	codes := stringList(ref.Value.Extensions["x-error-codes"])
	if slices.Contains(codes, e.Error.Code) || slices.Contains(v.gatewayCodes, e.Error.Code) {
		return nil
	}
	return fmt.Errorf("%d with code %s, which its x-error-codes %v do not list", status, e.Error.Code, codes)
}

// find matches a request path to a documented path, segment by segment as
// the gateway does.
func (v *Validator) find(method, path string) (*routers.Route, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, p := range v.paths {
		op := p.item.GetOperation(method)
		if op == nil || len(p.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range p.segments {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && segs[i] != "" {
				params[s[1:len(s)-1]] = segs[i]
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return &routers.Route{Spec: v.doc, Path: p.template, PathItem: p.item, Method: method, Operation: op}, params, true
		}
	}
	return nil, nil, false
}

// Checked returns how many exchanges of each operation ("GET /v1/health")
// were checked and matched the document.
func (v *Validator) Checked() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.checked))
	for k, n := range v.checked {
		out[k] = n
	}
	return out
}

// Unchecked lists the operations no exchange has reached yet.
func (v *Validator) Unchecked() []string {
	checked := v.Checked()
	var out []string
	for _, op := range Operations(v.doc) {
		if checked[op] == 0 {
			out = append(out, op)
		}
	}
	sort.Strings(out)
	return out
}

// Middleware serves next and checks each exchange, handing report every
// mismatch (a test fails with it). Requests to no documented operation are
// passed on unchecked.
func (v *Validator) Middleware(next http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, err := io.ReadAll(r.Body)
		if err != nil {
			report(fmt.Errorf("read the request body: %w", err))
		}
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		sent := r.Clone(r.Context())
		next.ServeHTTP(rec, r)
		err = v.Check(r.Context(), Exchange{Request: sent, RequestBody: reqBody, Status: rec.status, Header: w.Header(), Body: rec.body.Bytes()})
		if err != nil && !errors.Is(err, ErrNoOperation) {
			report(err)
		}
	})
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// Flush keeps streaming responses streaming.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func mediaType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt
}

// jsonLines checks a JSON lines body: one JSON object per line.
func jsonLines(body []byte) error {
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if len(body) == 0 {
			break
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			return fmt.Errorf("line %d is not a JSON object: %w", i+1, err)
		}
	}
	return nil
}

func stringList(ext any) []string {
	var out []string
	if list, ok := ext.([]any); ok {
		for _, s := range list {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..." + strconv.Itoa(len(b)-2000) + " more bytes"
	}
	return string(b)
}

// URL is a helper for exchanges built without net/http: the request target
// of path and query.
func URL(path string, query map[string]string) *url.URL {
	q := url.Values{}
	for k, val := range query {
		q.Set(k, val)
	}
	return &url.URL{Path: path, RawQuery: q.Encode()}
}
