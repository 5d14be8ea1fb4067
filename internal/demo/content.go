package demo

import "strings"

// goMod renders a go.mod for a demo module.
func goMod(name string, requires ...string) string {
	s := "module " + Org + "/" + name + "\n\ngo 1.22\n"
	if len(requires) > 0 {
		s += "\nrequire (\n"
		for _, r := range requires {
			s += "\t" + r + "\n"
		}
		s += ")\n"
	}
	return s
}

func definitions() []repoDef {
	return []repoDef{
		{"json-schema-converter", converterSteps()},
		{"clever-db", dbSteps()},
		{"clever-api", apiSteps()},
		{"clever-jobs", jobsSteps()},
		{"district-sync", syncSteps()},
		{"flaky-reports", flakySteps()},
		{"clever-schemas", schemasSteps()},
		{"clever-js", jsSteps()},
	}
}

// --- json-schema-converter: turns a JSON "where" document into conditions.

const converterV1 = `
// Package converter turns a JSON "where" document, as partners send it to
// the API, into the conditions of a database query.
package converter

import (
	"fmt"
	"sort"
)

// Condition is one comparison of a field with a value.
type Condition struct {
	Field string
	Op    string // "eq", "gt" or "lt"
	Value any
}

// Query is the conditions a where document asks for, sorted by field.
type Query struct {
	Conditions []Condition
}

// Convert turns a where document such as {"name": "Ada", "grade": {"$gt": 3}}
// into a query. Operators it does not know are ignored.
func Convert(where map[string]any) (Query, error) {
	var q Query
	fields := make([]string, 0, len(where))
	for f := range where {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if f == "" {
			return Query{}, fmt.Errorf("empty field name")
		}
		switch v := where[f].(type) {
		case map[string]any:
			ops := make([]string, 0, len(v))
			for op := range v {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			for _, op := range ops {
				switch op {
				case "$gt":
					q.Conditions = append(q.Conditions, Condition{f, "gt", v[op]})
				case "$lt":
					q.Conditions = append(q.Conditions, Condition{f, "lt", v[op]})
				}
			}
		default:
			q.Conditions = append(q.Conditions, Condition{f, "eq", v})
		}
	}
	return q, nil
}
`

const converterTestV1 = `
package converter

import "testing"

func TestConvert(t *testing.T) {
	q, err := Convert(map[string]any{"name": "Ada", "grade": map[string]any{"$gt": 3.0, "$regex": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Conditions) != 2 || q.Conditions[0] != (Condition{"grade", "gt", 3.0}) || q.Conditions[1] != (Condition{"name", "eq", "Ada"}) {
		t.Fatalf("Convert = %+v", q)
	}
}

func TestConvertEmptyField(t *testing.T) {
	if _, err := Convert(map[string]any{"": 1}); err == nil {
		t.Fatal("want an error for an empty field name")
	}
}
`

const converterStrict = `
package converter

import (
	"fmt"
	"sort"
)

// ConvertStrict is Convert for validated queries: a field outside allowed,
// or an operator Convert does not know, is an error instead of being
// silently ignored.
func ConvertStrict(where map[string]any, allowed []string) (Query, error) {
	ok := map[string]bool{}
	for _, f := range allowed {
		ok[f] = true
	}
	fields := make([]string, 0, len(where))
	for f := range where {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !ok[f] {
			return Query{}, fmt.Errorf("unknown field %q", f)
		}
		if ops, isOps := where[f].(map[string]any); isOps {
			for op := range ops {
				if op != "$gt" && op != "$lt" {
					return Query{}, fmt.Errorf("field %q: unknown operator %q", f, op)
				}
			}
		}
	}
	return Convert(where)
}
`

const converterStrictTest = `
package converter

import "testing"

func TestConvertStrict(t *testing.T) {
	if _, err := ConvertStrict(map[string]any{"name": "Ada"}, []string{"name"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertStrict(map[string]any{"nmae": "Ada"}, []string{"name"}); err == nil {
		t.Fatal("want an error for an unknown field")
	}
	if _, err := ConvertStrict(map[string]any{"grade": map[string]any{"$regex": "x"}}, []string{"grade"}); err == nil {
		t.Fatal("want an error for an unknown operator")
	}
}
`

func converterSteps() []step {
	v0 := `
// Package converter turns a JSON "where" document into the conditions of a
// database query.
package converter

// Condition is one comparison of a field with a value.
type Condition struct {
	Field string
	Op    string
	Value any
}

// Query is the conditions a where document asks for.
type Query struct {
	Conditions []Condition
}

// Convert turns a where document into a query of equality conditions.
func Convert(where map[string]any) (Query, error) {
	var q Query
	for f, v := range where {
		q.Conditions = append(q.Conditions, Condition{f, "eq", v})
	}
	return q, nil
}
`
	return []step{
		{files: map[string]string{"go.mod": goMod("json-schema-converter"), "converter.go": v0,
			"README.md": "# json-schema-converter\n\nTurns JSON where documents into query conditions.\n"},
			msg: "Convert where documents to equality conditions", tag: "v1.0.0"},
		{files: map[string]string{"converter.go": converterV1, "converter_test.go": converterTestV1},
			msg: "Support $gt and $lt; sort conditions by field", tag: "v1.2.0"},
		{branch: "strict-where", files: map[string]string{"strict.go": converterStrict, "strict_test.go": converterStrictTest},
			msg: "Add ConvertStrict: reject unknown fields and operators"},
	}
}

// --- clever-db: an in-memory store and the query API on top of it.

const dbStore = `
// Package store keeps collections of records in memory.
package store

import (
	"sort"
	"sync"
)

var (
	mu          sync.Mutex
	collections = map[string][]map[string]any{}
)

// Insert adds a record to a collection.
func Insert(collection string, rec map[string]any) {
	mu.Lock()
	defer mu.Unlock()
	collections[collection] = append(collections[collection], rec)
}

// All returns a copy of a collection's records.
func All(collection string) []map[string]any {
	mu.Lock()
	defer mu.Unlock()
	return append([]map[string]any(nil), collections[collection]...)
}

// Names lists the collections, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(collections))
	for n := range collections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Reset empties every collection.
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	collections = map[string][]map[string]any{}
}
`

const dbStoreTest = `
package store

import "testing"

func TestInsertAll(t *testing.T) {
	Reset()
	Insert("students", map[string]any{"name": "Ada"})
	if got := All("students"); len(got) != 1 || got[0]["name"] != "Ada" {
		t.Fatalf("All = %v", got)
	}
	if got := Names(); len(got) != 1 || got[0] != "students" {
		t.Fatalf("Names = %v", got)
	}
}
`

const dbQueryV1 = `
// Package query finds records that match a where document.
package query

import (
	converter "example.com/clever/json-schema-converter"

	"example.com/clever/clever-db/store"
)

// Record is one stored record.
type Record map[string]any

// Find returns the records of collection that match where.
func Find(collection string, where map[string]any) ([]Record, error) {
	q, err := converter.Convert(where)
	if err != nil {
		return nil, err
	}
	return match(collection, q), nil
}

func match(collection string, q converter.Query) []Record {
	var out []Record
	for _, rec := range store.All(collection) {
		if matches(rec, q) {
			out = append(out, Record(rec))
		}
	}
	return out
}

func matches(rec map[string]any, q converter.Query) bool {
	for _, c := range q.Conditions {
		v, ok := rec[c.Field]
		if !ok {
			return false
		}
		switch c.Op {
		case "eq":
			if v != c.Value {
				return false
			}
		case "gt", "lt":
			a, ok1 := v.(float64)
			b, ok2 := c.Value.(float64)
			if !ok1 || !ok2 || c.Op == "gt" && !(a > b) || c.Op == "lt" && !(a < b) {
				return false
			}
		}
	}
	return true
}

// Count returns how many records there are.
func Count(records []Record) int { return len(records) }
`

const dbQueryTestV1 = `
package query

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func TestFind(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{"name": "Ada", "grade": 4.0})
	store.Insert("students", map[string]any{"name": "Bob", "grade": 2.0})
	got, err := Find("students", map[string]any{"grade": map[string]any{"$gt": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	if Count(got) != 1 || got[0]["name"] != "Ada" {
		t.Fatalf("Find = %v", got)
	}
}
`

const dbQueryStrict = `
// Package query finds records that match a where document.
package query

import (
	converter "example.com/clever/json-schema-converter"

	"example.com/clever/clever-db/store"
)

// Record is one stored record.
type Record map[string]any

// Options says how a where document is checked.
type Options struct {
	// Strict rejects fields outside Allowed and unknown operators, instead
	// of silently ignoring them.
	Strict  bool
	Allowed []string
}

// Find returns the records of collection that match where.
func Find(collection string, where map[string]any, opts Options) ([]Record, error) {
	q, err := converter.Convert(where)
	if opts.Strict {
		q, err = convertStrict(where, opts.Allowed)
	}
	if err != nil {
		return nil, err
	}
	return match(collection, q), nil
}

func match(collection string, q converter.Query) []Record {
	var out []Record
	for _, rec := range store.All(collection) {
		if matches(rec, q) {
			out = append(out, Record(rec))
		}
	}
	return out
}

func matches(rec map[string]any, q converter.Query) bool {
	for _, c := range q.Conditions {
		v, ok := rec[c.Field]
		if !ok {
			return false
		}
		switch c.Op {
		case "eq":
			if v != c.Value {
				return false
			}
		case "gt", "lt":
			a, ok1 := v.(float64)
			b, ok2 := c.Value.(float64)
			if !ok1 || !ok2 || c.Op == "gt" && !(a > b) || c.Op == "lt" && !(a < b) {
				return false
			}
		}
	}
	return true
}

// Count returns how many records there are.
func Count(records []Record) int { return len(records) }
`

const dbQueryStrictCheck = `
package query

import (
	"fmt"

	converter "example.com/clever/json-schema-converter"
)

// convertStrict rejects a field outside allowed and an operator other than
// $gt and $lt, then converts as usual.
func convertStrict(where map[string]any, allowed []string) (converter.Query, error) {
	ok := map[string]bool{}
	for _, f := range allowed {
		ok[f] = true
	}
	for f, v := range where {
		if !ok[f] {
			return converter.Query{}, fmt.Errorf("unknown field %q", f)
		}
		if ops, isOps := v.(map[string]any); isOps {
			for op := range ops {
				if op != "$gt" && op != "$lt" {
					return converter.Query{}, fmt.Errorf("field %q: unknown operator %q", f, op)
				}
			}
		}
	}
	return converter.Convert(where)
}
`

const dbQueryTestStrict = `
package query

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func TestFind(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{"name": "Ada", "grade": 4.0})
	store.Insert("students", map[string]any{"name": "Bob", "grade": 2.0})
	got, err := Find("students", map[string]any{"grade": map[string]any{"$gt": 3.0}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if Count(got) != 1 || got[0]["name"] != "Ada" {
		t.Fatalf("Find = %v", got)
	}
}

func TestFindStrict(t *testing.T) {
	opts := Options{Strict: true, Allowed: []string{"name", "grade"}}
	if _, err := Find("students", map[string]any{"nmae": "Ada"}, opts); err == nil {
		t.Fatal("want an error for an unknown field")
	}
}
`

func dbSteps() []step {
	return []step{
		{files: map[string]string{
			"go.mod":              goMod("clever-db", "example.com/clever/json-schema-converter v1.0.0"),
			"store/store.go":      dbStore,
			"store/store_test.go": dbStoreTest,
			"README.md":           "# clever-db\n\nThe database client: `store` keeps records, `query` finds them.\n",
		}, msg: "In-memory store", tag: "v1.3.0"},
		{files: map[string]string{
			"go.mod":              goMod("clever-db", "example.com/clever/json-schema-converter v1.2.0"),
			"query/query.go":      dbQueryV1,
			"query/query_test.go": dbQueryTestV1,
		}, msg: "query: Find records by where document", tag: "v1.4.0"},
		{branch: "strict-where", files: map[string]string{
			"query/query.go":      dbQueryStrict,
			"query/strict.go":     dbQueryStrictCheck,
			"query/query_test.go": dbQueryTestStrict,
		}, msg: "query: strict where validation (Find takes Options)"},
	}
}

// --- clever-api: the HTTP API, its Go client package and its where schema.

const apiClientV1 = `
// Package client is the Go client of the API, used by the organisation's
// other services. It reads through clever-db directly.
package client

import "example.com/clever/clever-db/query"

// Client queries the API's data.
type Client struct{}

// Students returns the students that match where.
func (c *Client) Students(where map[string]any) ([]query.Record, error) {
	return query.Find("students", where)
}
`

const apiClientStrict = `
// Package client is the Go client of the API, used by the organisation's
// other services. It reads through clever-db directly.
package client

import "example.com/clever/clever-db/query"

// Fields are the fields a where document may name.
var Fields = []string{"name", "grade", "school"}

// Client queries the API's data.
type Client struct{}

// Students returns the students that match where.
func (c *Client) Students(where map[string]any) ([]query.Record, error) {
	return query.Find("students", where, query.Options{Strict: true, Allowed: Fields})
}
`

const apiClientTest = `
package client

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func TestStudents(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{"name": "Ada", "school": "Hill"})
	got, err := new(Client).Students(map[string]any{"school": "Hill"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Students = %v, %v", got, err)
	}
}
`

const apiClientBench = `
package client

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func BenchmarkStudents(b *testing.B) {
	store.Reset()
	for i := 0; i < 1000; i++ {
		school := "Hill"
		if i%2 == 1 {
			school = "Lakeside"
		}
		store.Insert("students", map[string]any{"name": "n", "school": school})
	}
	c := new(Client)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Students(map[string]any{"school": "Hill"}); err != nil {
			b.Fatal(err)
		}
	}
}
`

const apiServer = `
// Package server serves the API over HTTP.
package server

import (
	"encoding/json"
	"net/http"

	"example.com/clever/clever-api/client"
)

// Handler serves GET /v1/students?where={...}.
func Handler() http.Handler {
	mux := http.NewServeMux()
	c := new(client.Client)
	mux.HandleFunc("GET /v1/students", func(w http.ResponseWriter, r *http.Request) {
		where := map[string]any{}
		if s := r.URL.Query().Get("where"); s != "" {
			if err := json.Unmarshal([]byte(s), &where); err != nil {
				http.Error(w, "where: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		recs, err := c.Students(where)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": recs})
	})
	return mux
}
`

const apiServerTest = `
package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"example.com/clever/clever-db/store"
)

func TestStudents(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{"name": "Ada"})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/students?where="+url.QueryEscape(` + "`" + `{"name":"Ada"}` + "`" + `), nil)
	Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
`

const apiMain = `
// Command clever-api serves the API.
package main

import (
	"log"
	"net/http"

	"example.com/clever/clever-api/server"
)

func main() {
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", server.Handler()))
}
`

const whereSchemaV1 = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://api.clever.example/schemas/where.json",
  "title": "where",
  "description": "The where query parameter of GET /v1/students.",
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "school": {"type": "string"},
    "grade": {"$ref": "#/$defs/number-or-range"}
  },
  "$defs": {
    "number-or-range": {
      "anyOf": [
        {"type": "number"},
        {"type": "object"}
      ]
    }
  }
}
`

const whereSchemaStrict = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://api.clever.example/schemas/where.json",
  "title": "where",
  "description": "The where query parameter of GET /v1/students.",
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "school": {"type": "string"},
    "grade": {"$ref": "#/$defs/number-or-range"}
  },
  "additionalProperties": false,
  "$defs": {
    "number-or-range": {
      "anyOf": [
        {"type": "number"},
        {
          "type": "object",
          "properties": {"$gt": {"type": "number"}, "$lt": {"type": "number"}},
          "additionalProperties": false
        }
      ]
    }
  }
}
`

const apiCascadeYAML = `
build: go build ./...
test: go test ./...
bench: test -x client.test || go test -c ./client/ && ./client.test -test.run '^$' -test.bench . -test.benchtime 20ms -test.count 5
api:
  jsonschema: [schemas/*.json]
release:
  steps:
    - name: Tag {{.Version}}
      tag: true
    - name: Deploy to production
      manual: Run the deploy job for {{.Repo}} {{.Version}} and wait until it is healthy. Confirm with the version the health endpoint reports.
      inputs: [deployed_version]
    - name: Health check
      check: test "$CASCADE_INPUT_DEPLOYED_VERSION" = "$CASCADE_VERSION"
      retry: {attempts: 2, every: 1s}
    - name: Downstream still green
      verify: downstream
# bench builds its binary once per tree (the base's, the head's): each run
# of the performance gate then measures instead of compiling and linking.
`

const apiCatalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: clever-api
  description: The public API partners call.
spec:
  type: service
  lifecycle: production
  owner: team-api
  dependsOn:
    - component:clever-db
`

func apiSteps() []step {
	return []step{
		{files: map[string]string{
			"go.mod": goMod("clever-api",
				"example.com/clever/clever-db v1.4.0",
				"example.com/clever/json-schema-converter v1.2.0 // indirect"),
			"client/client.go":            apiClientV1,
			"client/client_test.go":       apiClientTest,
			"client/client_bench_test.go": apiClientBench,
			"server/server.go":            apiServer,
			"server/server_test.go":       apiServerTest,
			"cmd/clever-api/main.go":      apiMain,
			"schemas/where.json":          whereSchemaV1,
			"logs/requests.jsonl":         requestLog(),
			".cascade.yaml":               apiCascadeYAML,
			"catalog-info.yaml":           apiCatalog,
			"README.md":                   "# clever-api\n\nThe API partners call. `client` is its Go client.\n",
		}, msg: "API: GET /v1/students with where filters", tag: "v1.0.0"},
		{branch: "adapt-strict-where", files: map[string]string{
			"client/client.go":   apiClientStrict,
			"schemas/where.json": whereSchemaStrict,
		}, msg: "Use clever-db strict where validation; tighten the where schema"},
	}
}

// requestLog is a day of GET /v1/students requests, one JSON object per
// line. Most partners send where documents the strict schema accepts;
// gradebook-plus misspells a field and bus-tracker sends an operator the
// API never supported, which the old API silently ignored.
func requestLog() string {
	type req struct{ partner, where string }
	reqs := []req{
		{"district-app", `{"name":"Ada"}`},
		{"gradebook-plus", `{"school":"Hill","grade":{"$gt":3}}`},
		{"district-app", `{"school":"Hill"}`},
		{"bus-tracker", `{"school":"Lakeside","grade":{"$gte":5}}`},
		{"lunch-pay", `{"name":"Bob","school":"Hill"}`},
		{"gradebook-plus", `{"studentName":"Ada"}`},
		{"district-app", `{"grade":4}`},
		{"lunch-pay", `{"school":"Lakeside"}`},
		{"bus-tracker", `{"school":"Hill"}`},
		{"gradebook-plus", `{"school":"Hill","grade":{"$lt":9}}`},
		{"district-app", `{"name":"Cy","school":"Lakeside"}`},
		{"gradebook-plus", `{"studentName":"Bob","school":"Hill"}`},
		{"bus-tracker", `{"grade":{"$gte":1,"$lt":4}}`},
		{"lunch-pay", `{"grade":{"$gt":2}}`},
		{"district-app", `{}`},
	}
	s := ""
	for day := 0; day < 4; day++ {
		for i, r := range reqs {
			ts := 1772442000 + day*86400 + i*317
			s += `{"ts":` + itoa(ts) + `,"partner":"` + r.partner + `","method":"GET","path":"/v1/students","status":200,"where":` + r.where + "}\n"
		}
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// --- clever-jobs: background jobs that use only clever-db's store.

const jobsCode = `
// Package jobs runs the nightly background jobs.
package jobs

import "example.com/clever/clever-db/store"

// Nightly returns how many collections the nightly job visits.
func Nightly() int {
	return len(store.Names())
}
`

const jobsTest = `
package jobs

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func TestNightly(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{})
	store.Insert("schools", map[string]any{})
	if n := Nightly(); n != 2 {
		t.Fatalf("Nightly = %d, want 2", n)
	}
}
`

func jobsSteps() []step {
	return []step{{files: map[string]string{
		"go.mod": goMod("clever-jobs",
			"example.com/clever/clever-db v1.4.0",
			"example.com/clever/json-schema-converter v1.2.0 // indirect"),
		"jobs/jobs.go":      jobsCode,
		"jobs/jobs_test.go": jobsTest,
	}, msg: "Nightly job over every collection"}}
}

// --- district-sync: syncs districts through clever-api's Go client.

const syncCode = `
// Package sync copies a district's students through the API client.
package sync

import "example.com/clever/clever-api/client"

// Students returns the names of a school's students.
func Students(school string) ([]string, error) {
	recs, err := new(client.Client).Students(map[string]any{"school": school})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range recs {
		if n, ok := r["name"].(string); ok {
			names = append(names, n)
		}
	}
	return names, nil
}
`

const syncTest = `
package sync

import (
	"testing"

	"example.com/clever/clever-db/store"
)

func TestStudents(t *testing.T) {
	store.Reset()
	store.Insert("students", map[string]any{"name": "Ada", "school": "Hill"})
	names, err := Students("Hill")
	if err != nil || len(names) != 1 || names[0] != "Ada" {
		t.Fatalf("Students = %v, %v", names, err)
	}
}
`

const syncCatalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: district-sync
spec:
  type: service
  lifecycle: production
  owner: team-sync
  dependsOn:
    - component:default/clever-api
`

func syncSteps() []step {
	return []step{{files: map[string]string{
		"go.mod": goMod("district-sync",
			"example.com/clever/clever-api v1.0.0",
			"example.com/clever/clever-db v1.4.0 // indirect",
			"example.com/clever/json-schema-converter v1.2.0 // indirect"),
		"sync/sync.go":      syncCode,
		"sync/sync_test.go": syncTest,
		"catalog-info.yaml": syncCatalog,
	}, msg: "Sync district students through the API client"}}
}

// --- flaky-reports: reports over clever-db, with a flaky test.

const reportsCode = `
// Package reports summarises query results.
package reports

import "example.com/clever/clever-db/query"

// Summary says how many records a report covers.
func Summary(recs []query.Record) string {
	n := query.Count(recs)
	if n == 1 {
		return "1 record"
	}
	return itoa(n) + " records"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
`

const reportsTest = `
package reports

import (
	"os"
	"testing"

	"example.com/clever/clever-db/query"
)

func TestSummary(t *testing.T) {
	if got := Summary(make([]query.Record, 3)); got != "3 records" {
		t.Fatalf("Summary = %q", got)
	}
}

// TestWarmCache depends on state left by an earlier run: it fails the
// first time it runs in a fresh checkout and passes after that. It is the
// kind of flaky test cascade must not report as a regression.
func TestWarmCache(t *testing.T) {
	const marker = ".warm"
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, []byte("warm\n"), 0o644)
		t.Fatal("cache was cold (passes on the next run)")
	}
}
`

func flakySteps() []step {
	return []step{{files: map[string]string{
		"go.mod": goMod("flaky-reports",
			"example.com/clever/clever-db v1.4.0",
			"example.com/clever/json-schema-converter v1.2.0 // indirect"),
		"reports/reports.go":      reportsCode,
		"reports/reports_test.go": reportsTest,
		".gitignore":              "reports/.warm\n",
	}, msg: "Record summaries"}}
}

// --- clever-schemas and clever-js: npm packages.

const schemasPackage = `{
  "name": "@clever/schemas",
  "version": "1.0.0",
  "description": "JSON Schemas of the API, for JavaScript clients.",
  "main": "index.js",
  "scripts": {
    "test": "node --test"
  },
  "license": "UNLICENSED"
}
`

const schemasIndex = `'use strict';

exports.where = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    school: { type: 'string' },
    grade: { anyOf: [{ type: 'number' }, { type: 'object' }] },
  },
};
`

const schemasTest = `'use strict';
const test = require('node:test');
const assert = require('node:assert');
const schemas = require('./index.js');

test('where is an object schema', () => {
  assert.strictEqual(schemas.where.type, 'object');
});
`

const jsPackage = `{
  "name": "@clever/clever-js",
  "version": "2.1.0",
  "description": "JavaScript client of the API.",
  "main": "index.js",
  "scripts": {
    "test": "node --test"
  },
  "dependencies": {
    "@clever/schemas": "^1.0.0"
  },
  "license": "UNLICENSED"
}
`

const jsIndex = `'use strict';
const schemas = require('@clever/schemas');

// whereFields lists the fields a where document may use.
exports.whereFields = () => Object.keys(schemas.where.properties).sort();
`

const jsTest = `'use strict';
const test = require('node:test');
const assert = require('node:assert');
const client = require('./index.js');

test('whereFields', () => {
  assert.deepStrictEqual(client.whereFields(), ['grade', 'name', 'school']);
});
`

func schemasSteps() []step {
	return []step{{files: map[string]string{
		"package.json": schemasPackage, "index.js": schemasIndex, "index.test.js": schemasTest,
	}, msg: "Publish the where schema", tag: "v1.0.0"}}
}

func jsSteps() []step {
	return []step{{files: map[string]string{
		"package.json": jsPackage, "index.js": jsIndex, "index.test.js": jsTest,
	}, msg: "Client helpers", tag: "v2.1.0"}}
}

// slowFix is the out-of-scope "quick fix" the demo pushes to clever-api's
// branch right before the release: it makes every query very slow.
const slowFix = `
// Package client is the Go client of the API, used by the organisation's
// other services. It reads through clever-db directly.
package client

import (
	"strings"
	"time"

	"example.com/clever/clever-db/query"
)

// Fields are the fields a where document may name.
var Fields = []string{"name", "grade", "school"}

// Client queries the API's data.
type Client struct{}

// Students returns the students that match where.
func (c *Client) Students(where map[string]any) ([]query.Record, error) {
	// Quick fix: accept field names in any case.
	norm := map[string]any{}
	for k, v := range where {
		norm[strings.ToLower(k)] = v
	}
	time.Sleep(200 * time.Microsecond) // wait for the replica to catch up
	return query.Find("students", norm, query.Options{Strict: true, Allowed: Fields})
}
`

// v2 rewrites the import paths of clever-db and clever-api in src to their
// /v2 module paths, as moving both to a major version needs.
func v2(src string) string {
	for _, m := range []string{"clever-db", "clever-api"} {
		src = strings.ReplaceAll(src, `"`+Org+"/"+m+"/", `"`+Org+"/"+m+"/v2/")
	}
	return src
}

// dbV2Files are clever-db's files that change when it moves to the
// example.com/clever/clever-db/v2 module path.
func dbV2Files() map[string]string {
	return map[string]string{
		"go.mod":              "module " + Org + "/clever-db/v2\n\ngo 1.22\n\nrequire " + Org + "/json-schema-converter v1.2.0\n",
		"query/query.go":      v2(dbQueryStrict),
		"query/query_test.go": v2(dbQueryTestStrict),
	}
}

// apiV2Files are clever-api's files that change when it moves to the
// example.com/clever/clever-api/v2 module path and imports clever-db/v2.
func apiV2Files() map[string]string {
	return map[string]string{
		"go.mod": "module " + Org + "/clever-api/v2\n\ngo 1.22\n\nrequire (\n\t" + Org + "/clever-db/v2 v2.0.0\n\t" +
			Org + "/json-schema-converter v1.2.0 // indirect\n)\n",
		"client/client.go":            v2(apiClientStrict),
		"client/client_test.go":       v2(apiClientTest),
		"client/client_bench_test.go": v2(apiClientBench),
		"server/server.go":            v2(apiServer),
		"server/server_test.go":       v2(apiServerTest),
		"cmd/clever-api/main.go":      v2(apiMain),
	}
}
