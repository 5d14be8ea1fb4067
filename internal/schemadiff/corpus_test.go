package schemadiff

import (
	"encoding/json"
	"strings"
	"testing"
)

// corpus is old/new schema pairs with the expected answer:
// "T" tightened only, "L" loosened only, "TL" both, "=" no difference at
// all, "U" undecided (unknown, nothing claimed either way).
var corpus = []struct {
	name, old, new, want string
}{
	// type
	{"type narrowed", `{"type":["string","number"]}`, `{"type":"string"}`, "T"},
	{"type widened", `{"type":"string"}`, `{"type":["string","null"]}`, "L"},
	{"type swapped", `{"type":"string"}`, `{"type":"boolean"}`, "TL"},
	{"number to integer", `{"type":"number"}`, `{"type":"integer"}`, "T"},
	{"integer to number", `{"type":"integer"}`, `{"type":"number"}`, "L"},
	{"type added", `{}`, `{"type":"object"}`, "T"},
	{"type removed", `{"type":"array"}`, `{}`, "L"},
	// enum and const
	{"enum value removed", `{"enum":["a","b","c"]}`, `{"enum":["a","b"]}`, "T"},
	{"enum value added", `{"enum":["a","b"]}`, `{"enum":["a","b","c"]}`, "L"},
	{"enum reordered", `{"enum":["a","b"]}`, `{"enum":["b","a"]}`, "="},
	{"enum added", `{"type":"string"}`, `{"type":"string","enum":["x","y"]}`, "T"},
	{"enum removed", `{"type":"string","enum":["x"]}`, `{"type":"string"}`, "L"},
	{"const changed", `{"const":1}`, `{"const":2}`, "TL"},
	{"const to enum", `{"const":"a"}`, `{"enum":["a","b"]}`, "L"},
	// required and properties
	{"required added", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`, "T"},
	{"required removed", `{"type":"object","required":["a"]}`, `{"type":"object"}`, "L"},
	{"property type narrowed", `{"properties":{"n":{"type":["string","integer"]}}}`, `{"properties":{"n":{"type":"integer"}}}`, "T"},
	{"property added with a type", `{"type":"object"}`, `{"type":"object","properties":{"age":{"type":"integer"}}}`, "T"},
	{"property removed (open object)", `{"type":"object","properties":{"age":{"type":"integer"}}}`, `{"type":"object"}`, "L"},
	{"property renamed, closed object", `{"type":"object","properties":{"name":{}},"additionalProperties":false}`, `{"type":"object","properties":{"fullName":{}},"additionalProperties":false}`, "TL"},
	{"description only", `{"type":"object","description":"a"}`, `{"type":"object","description":"b","title":"t"}`, "="},
	// additionalProperties and patternProperties
	{"additionalProperties false", `{"type":"object","properties":{"a":{}}}`, `{"type":"object","properties":{"a":{}},"additionalProperties":false}`, "T"},
	{"additionalProperties true", `{"type":"object","additionalProperties":false}`, `{"type":"object","additionalProperties":true}`, "L"},
	{"additionalProperties schema narrowed", `{"type":"object","additionalProperties":{"type":["string","number"]}}`, `{"type":"object","additionalProperties":{"type":"string"}}`, "T"},
	{"patternProperties value narrowed", `{"type":"object","patternProperties":{"^x-":{"type":["string","number"]}}}`, `{"type":"object","patternProperties":{"^x-":{"type":"string"}}}`, "T"},
	{"patternProperties pattern changed", `{"type":"object","patternProperties":{"^x-":{}},"additionalProperties":false}`, `{"type":"object","patternProperties":{"^y-":{}},"additionalProperties":false}`, "U"},
	// arrays
	{"items narrowed", `{"type":"array","items":{"type":["string","number"]}}`, `{"type":"array","items":{"type":"string"}}`, "T"},
	{"items added", `{"type":"array"}`, `{"type":"array","items":{"type":"integer"}}`, "T"},
	{"items removed", `{"type":"array","items":{"type":"integer"}}`, `{"type":"array"}`, "L"},
	{"prefixItems narrowed", `{"type":"array","prefixItems":[{"type":["string","null"]}]}`, `{"type":"array","prefixItems":[{"type":"string"}]}`, "T"},
	{"minItems raised", `{"type":"array","minItems":1}`, `{"type":"array","minItems":3}`, "T"},
	{"minItems lowered", `{"type":"array","minItems":3}`, `{"type":"array","minItems":1}`, "L"},
	{"maxItems lowered", `{"type":"array","maxItems":5}`, `{"type":"array","maxItems":2}`, "T"},
	{"maxItems added", `{"type":"array"}`, `{"type":"array","maxItems":2}`, "T"},
	{"maxItems removed", `{"type":"array","maxItems":2}`, `{"type":"array"}`, "L"},
	{"uniqueItems on", `{"type":"array"}`, `{"type":"array","uniqueItems":true}`, "T"},
	{"uniqueItems off", `{"type":"array","uniqueItems":true}`, `{"type":"array"}`, "L"},
	// strings
	{"minLength raised", `{"type":"string","minLength":1}`, `{"type":"string","minLength":4}`, "T"},
	{"minLength lowered", `{"type":"string","minLength":4}`, `{"type":"string"}`, "L"},
	{"maxLength lowered", `{"type":"string","maxLength":10}`, `{"type":"string","maxLength":5}`, "T"},
	{"maxLength raised", `{"type":"string","maxLength":5}`, `{"type":"string","maxLength":10}`, "L"},
	{"pattern added", `{"type":"string"}`, `{"type":"string","pattern":"^[a-z]+$"}`, "T"},
	{"pattern removed", `{"type":"string","pattern":"^[a-z]+$"}`, `{"type":"string"}`, "L"},
	{"pattern narrowed", `{"type":"string","pattern":"^(ab|cd)$"}`, `{"type":"string","pattern":"^ab$"}`, "T"},
	{"pattern widened", `{"type":"string","pattern":"^[0-9]{3}$"}`, `{"type":"string","pattern":"^[0-9]{3,5}$"}`, "L"},
	{"pattern rewritten, same language", `{"type":"string","pattern":"^[0-9]+$"}`, `{"type":"string","pattern":"^\\d+$"}`, "U"},
	{"format added", `{"type":"string"}`, `{"type":"string","format":"email"}`, "T"},
	{"format removed", `{"type":"string","format":"date"}`, `{"type":"string"}`, "L"},
	{"format changed", `{"type":"string","format":"date"}`, `{"type":"string","format":"date-time"}`, "TL"},
	// numbers
	{"minimum raised", `{"type":"integer","minimum":0}`, `{"type":"integer","minimum":10}`, "T"},
	{"minimum lowered", `{"type":"number","minimum":10}`, `{"type":"number","minimum":0}`, "L"},
	{"maximum lowered", `{"type":"number","maximum":100}`, `{"type":"number","maximum":50}`, "T"},
	{"maximum added", `{"type":"number"}`, `{"type":"number","maximum":50}`, "T"},
	{"exclusiveMinimum at the same bound", `{"type":"number","minimum":5}`, `{"type":"number","exclusiveMinimum":5}`, "T"},
	{"exclusiveMaximum relaxed to maximum", `{"type":"number","exclusiveMaximum":5}`, `{"type":"number","maximum":5}`, "L"},
	{"draft 7 style exclusive bound", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"number","exclusiveMaximum":10}`, `{"$schema":"http://json-schema.org/draft-07/schema#","type":"number","exclusiveMaximum":8}`, "T"},
	{"multipleOf added", `{"type":"number"}`, `{"type":"number","multipleOf":5}`, "T"},
	{"multipleOf coarser", `{"type":"integer","multipleOf":2}`, `{"type":"integer","multipleOf":4}`, "T"},
	{"multipleOf finer", `{"type":"integer","multipleOf":4}`, `{"type":"integer","multipleOf":2}`, "L"},
	// object sizes
	{"minProperties raised", `{"type":"object"}`, `{"type":"object","minProperties":2}`, "T"},
	{"maxProperties lowered", `{"type":"object","maxProperties":5}`, `{"type":"object","maxProperties":1}`, "T"},
	{"maxProperties removed", `{"type":"object","maxProperties":1}`, `{"type":"object"}`, "L"},
	// $ref and $defs
	{"ref target narrowed", `{"$defs":{"id":{"type":["string","integer"]}},"properties":{"id":{"$ref":"#/$defs/id"}}}`, `{"$defs":{"id":{"type":"integer"}},"properties":{"id":{"$ref":"#/$defs/id"}}}`, "T"},
	{"ref inlined, same meaning", `{"$defs":{"id":{"type":"integer"}},"properties":{"id":{"$ref":"#/$defs/id"}}}`, `{"properties":{"id":{"type":"integer"}}}`, "="},
	{"draft 2019-09 definitions", `{"$schema":"https://json-schema.org/draft/2019-09/schema","$defs":{"n":{"maximum":10}},"$ref":"#/$defs/n"}`, `{"$schema":"https://json-schema.org/draft/2019-09/schema","$defs":{"n":{"maximum":5}},"$ref":"#/$defs/n"}`, "T"},
	{"draft 7 definitions", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s"}}}`, `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"s":{"type":["string","null"]}},"properties":{"a":{"$ref":"#/definitions/s"}}}`, "L"},
	{"recursive schema unchanged", `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"}}}},"$ref":"#/$defs/node"}`, `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"}}}},"$ref":"#/$defs/node"}`, "="},
	// composition
	{"anyOf branch removed", `{"anyOf":[{"type":"string"},{"type":"number"}]}`, `{"anyOf":[{"type":"string"}]}`, "T"},
	{"anyOf branch added", `{"anyOf":[{"type":"string"}]}`, `{"anyOf":[{"type":"string"},{"type":"null"}]}`, "L"},
	{"oneOf branch narrowed", `{"oneOf":[{"type":"string","maxLength":10},{"type":"number"}]}`, `{"oneOf":[{"type":"string","maxLength":3},{"type":"number"}]}`, "T"},
	{"allOf member narrowed", `{"allOf":[{"type":"object"},{"properties":{"a":{"minimum":0}}}]}`, `{"allOf":[{"type":"object"},{"properties":{"a":{"minimum":5}}}]}`, "T"},
	{"not added", `{"type":"string"}`, `{"type":"string","not":{"const":"admin"}}`, "T"},
	{"not removed", `{"type":"string","not":{"const":"admin"}}`, `{"type":"string"}`, "L"},
	{"if-then-else changed", `{"if":{"properties":{"a":{"const":1}}},"then":{"required":["b"]}}`, `{"if":{"properties":{"a":{"const":1}}},"then":{"required":["c"]}}`, "U"},
	// boolean schemas
	{"true to false", `{"properties":{"a":true}}`, `{"properties":{"a":false}}`, "T"},
	{"false to true", `{"properties":{"a":false}}`, `{"properties":{"a":true}}`, "L"},
	// the demo's where schema
	{"demo where tightened", `{"type":"object","properties":{"name":{"type":"string"}}}`, `{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}`, "T"},
}

func TestCorpus(t *testing.T) {
	if len(corpus) < 60 {
		t.Fatalf("the corpus has %d pairs; keep at least 60", len(corpus))
	}
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			old, err := Load("old.json", []byte(tc.old))
			if err != nil {
				t.Fatal(err)
			}
			new, err := Load("new.json", []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			r := Compare(old, new)
			got := ""
			if len(r.Tightened) > 0 {
				got += "T"
			}
			if len(r.Loosened) > 0 {
				got += "L"
			}
			if got == "" {
				got = "="
				if len(r.Unknown) > 0 {
					got = "U"
				}
			}
			if got != tc.want {
				t.Errorf("got %s, want %s\n%s", got, tc.want, describe(r))
			}
			if r.Breaking != strings.Contains(tc.want, "T") {
				t.Errorf("breaking = %v", r.Breaking)
			}
			// Every witness is checked again here, with fresh validators.
			for _, f := range r.Tightened {
				inst := reparse(t, f.Witness)
				if old.Validate(inst) != nil || new.Validate(inst) == nil {
					t.Errorf("tightened witness %s at %s is not accepted by old and rejected by new", jsonText(f.Witness), f.Path)
				}
			}
			for _, f := range r.Loosened {
				inst := reparse(t, f.Witness)
				if new.Validate(inst) != nil || old.Validate(inst) == nil {
					t.Errorf("loosened witness %s at %s is not accepted by new and rejected by old", jsonText(f.Witness), f.Path)
				}
			}
		})
	}
}

// reparse round-trips a witness through its JSON text, as a user would
// copy it from the output.
func reparse(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func describe(r Result) string {
	var b strings.Builder
	for _, f := range r.Tightened {
		b.WriteString("  T " + f.Path + ": " + f.Message + " " + jsonText(f.Witness) + "\n")
	}
	for _, f := range r.Loosened {
		b.WriteString("  L " + f.Path + ": " + f.Message + " " + jsonText(f.Witness) + "\n")
	}
	for _, f := range r.Unknown {
		b.WriteString("  U " + f.Path + ": " + f.Message + "\n")
	}
	return b.String()
}
