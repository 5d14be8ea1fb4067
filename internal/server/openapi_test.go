package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/jobs"
	"github.com/cascade-dev/cascade/internal/workspace"

	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

const specURL = "mem://cascade/openapi.json"

// openAPI is the embedded description, parsed, and a compiler of schemas
// that point into it.
var openAPI = sync.OnceValues(func() (map[string]any, error) {
	var doc map[string]any
	err := json.Unmarshal(server.OpenAPI, &doc)
	return doc, err
})

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

func compileSchema(t testing.TB, pointer string) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[pointer]; ok {
		return s
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(server.OpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(specURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compiling the schema at %s: %v", pointer, err)
	}
	schemaCache[pointer] = s
	return s
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// documentedPath is the path template of the description that the
// request path (escaped, without its query) falls under, or "".
func documentedPath(t testing.TB, reqPath string) string {
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	segs := strings.Split(reqPath, "/")
	var best string
	bestVars := 1 << 30
	for tmpl := range doc["paths"].(map[string]any) {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		vars, ok := 0, true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") {
				vars++
			} else if ts[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok && vars < bestVars {
			best, bestVars = tmpl, vars
		}
	}
	return best
}

// validate checks a response against the description: its path and
// method are documented, its status (or default) is, with the content
// type it came with, and its body is valid against that schema.
func validate(t testing.TB, method, rawPath string, r response) {
	t.Helper()
	u, err := url.Parse(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := documentedPath(t, u.EscapedPath())
	doc, _ := openAPI()
	var responses map[string]any
	var where string
	if tmpl != "" {
		op, ok := doc["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s: the description has no %s on %s", method, rawPath, method, tmpl)
			return
		}
		responses = op["responses"].(map[string]any)
		where = "/paths/" + escapePointer(tmpl) + "/" + strings.ToLower(method) + "/responses/"
	}
	code := strconv.Itoa(r.status)
	var resp map[string]any
	if responses != nil {
		if v, ok := responses[code]; ok {
			resp, where = v.(map[string]any), where+code
		} else if v, ok := responses["default"]; ok && r.status >= 400 {
			resp, where = v.(map[string]any), where+"default"
		}
	} else if r.status >= 400 {
		// An unknown route answers with the documented error.
		resp = map[string]any{"$ref": "#/components/responses/Error"}
	}
	if resp == nil {
		t.Errorf("%s %s: status %d is not documented for %s", method, rawPath, r.status, tmpl)
		return
	}
	if ref, ok := resp["$ref"].(string); ok {
		where = strings.TrimPrefix(ref, "#")
		resp = doc["components"].(map[string]any)["responses"].(map[string]any)[strings.TrimPrefix(where, "/components/responses/")].(map[string]any)
	}
	ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	content, _ := resp["content"].(map[string]any)
	if _, ok := content[ct]; !ok {
		t.Errorf("%s %s: %d answers %s, the description says %v", method, rawPath, r.status, ct, keys(content))
		return
	}
	if ct != "application/json" && ct != "application/problem+json" {
		return
	}
	s := compileSchema(t, where+"/content/"+escapePointer(ct)+"/schema")
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		t.Errorf("%s %s: the body is not JSON: %v", method, rawPath, err)
		return
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s %s: the %d answer does not match the description:\n%v", method, rawPath, r.status, err)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIRoutes: every route the server serves is in the description
// and every documented operation is served, and the mux really routes
// each documented path (not the "no route" answer).
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite}, false, wholeServer(t))
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v; want 3.1.0", doc["openapi"])
	}
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		op := rt.Method + " " + rt.Pattern
		served[op] = true
		if !documented[op] {
			t.Errorf("the server serves %s, which the OpenAPI description does not document", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("the OpenAPI description documents %s, which the server does not serve", op)
		}
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{repo}", "clever-db", "{plan}", "sync-docs", "{id}", "1", "{step}", "3").Replace(path)
		r := do(t, method, e.url+path, nil)
		// (POST /logout redirects to the dashboard, which this server lacks.)
		if strings.Contains(string(r.body), "no route "+method+" "+path) {
			t.Errorf("%s: the mux does not route it: %d %s", op, r.status, r.body)
		}
	}
	// Every schema of the description compiles.
	for name := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		compileSchema(t, "/components/schemas/"+escapePointer(name))
	}
}

// TestValidateCatchesDrift: a body that breaks the description fails the
// check the other tests rely on.
func TestValidateCatchesDrift(t *testing.T) {
	s := compileSchema(t, "/components/schemas/ReleaseStatus")
	for _, body := range []string{
		`{"schema_version":1,"plan":"p","state":"active","manager":"alice","started_at":"x","steps":[],"actors_verified":true}`,
		`{"schema_version":1,"id":1,"plan":"p","state":"paused","manager":"alice","started_at":"x","steps":[],"actors_verified":true}`,
		`{"schema_version":1,"id":1,"plan":"p","state":"active","manager":"alice","started_at":"x","steps":[{"index":1}],"actors_verified":true}`,
	} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if s.Validate(inst) == nil {
			t.Errorf("%s passes the ReleaseStatus schema", body)
		}
	}
	ok, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"schema_version":1,"id":1,"plan":"p","state":"active","manager":"alice","started_at":"x","steps":[],"actors_verified":true}`))
	if err := s.Validate(ok); err != nil {
		t.Errorf("a valid status fails: %v", err)
	}
}

// wholeServer configures a server as cascade serve runs it: logins,
// verification runs (queued, not worked) and their routes.
func wholeServer(t testing.TB) func(*server.Config) {
	return func(c *server.Config) {
		js, err := jobs.Open(context.Background(), c.Store, jobs.Config{Workspace: c.WorkspaceFile, CacheDir: c.CacheDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { js.Stop(context.Background()) })
		var people []workspace.Person
		if ws, err := workspace.Load(c.WorkspaceFile); err == nil {
			people = ws.People
		}
		svc := &auth.Service{Store: c.Store, Origin: "http://127.0.0.1", People: func() []workspace.Person { return people }}
		c.Authenticator = svc
		c.Jobs = &server.Verifications{System: js, Middleware: svc.CSRF}
		c.Routes = server.LoginRoutes(svc.Handler())
		c.Actions = &server.Actions{Middleware: svc.CSRF}
	}
}
