package schemadiff

import (
	"encoding/json"
	"strings"
	"testing"
)

// corpus is old/new schema pairs with the expected answer: "T" when
// something is tightened, "L" when something is loosened, "U" when
// something is undecided (listed as unknown), in that order ("TL", "LU",
// ...), and "=" for no difference at all. Breaking is expected exactly
// when the answer holds "T" or "U".
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
	{"patternProperties pattern changed", `{"type":"object","patternProperties":{"^x-":{}},"additionalProperties":false}`, `{"type":"object","patternProperties":{"^y-":{}},"additionalProperties":false}`, "TL"},
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
	{"pattern rewritten, same language", `{"type":"string","pattern":"^[0-9]+$"}`, `{"type":"string","pattern":"^\\d+$"}`, "="},
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
	{"if-then-else changed", `{"if":{"properties":{"a":{"const":1}}},"then":{"required":["b"]}}`, `{"if":{"properties":{"a":{"const":1}}},"then":{"required":["c"]}}`, "TL"},
	// boolean schemas
	{"true to false", `{"properties":{"a":true}}`, `{"properties":{"a":false}}`, "T"},
	{"false to true", `{"properties":{"a":false}}`, `{"properties":{"a":true}}`, "L"},
	// the demo's where schema
	{"demo where tightened", `{"type":"object","properties":{"name":{"type":"string"}}}`, `{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}`, "T"},

	// oneOf: a value must match exactly one branch, so a branch that
	// grows into another one rejects what matched only the other.
	{"oneOf overlapping branch added", `{"oneOf":[{"type":"string","maxLength":5},{"type":"number"}]}`, `{"oneOf":[{"type":"string","maxLength":5},{"type":"number"},{"type":"string","minLength":3}]}`, "TL"},
	{"oneOf disjoint branch added", `{"oneOf":[{"type":"string"},{"type":"number"}]}`, `{"oneOf":[{"type":"string"},{"type":"number"},{"type":"null"}]}`, "L"},
	{"oneOf discriminated branch added", `{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"string"}},"required":["kind"]}]}`, `{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"string"}},"required":["kind"]},{"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]}]}`, "L"},
	{"oneOf branch removed", `{"oneOf":[{"type":"string"},{"type":"number"}]}`, `{"oneOf":[{"type":"string"}]}`, "T"},
	{"oneOf overlapping branch removed", `{"oneOf":[{"type":"string","maxLength":5},{"type":"string","minLength":3}]}`, `{"oneOf":[{"type":"string","maxLength":5}]}`, "TL"},
	{"oneOf branch widened into another", `{"oneOf":[{"type":"string","maxLength":3},{"type":"string","minLength":5}]}`, `{"oneOf":[{"type":"string","maxLength":10},{"type":"string","minLength":5}]}`, "TL"},
	{"oneOf branch narrowed out of another", `{"oneOf":[{"type":"string","maxLength":10},{"type":"string","minLength":5}]}`, `{"oneOf":[{"type":"string","maxLength":3},{"type":"string","minLength":5}]}`, "TL"},
	{"oneOf branch added, overlap not found", `{"oneOf":[{"type":"integer","multipleOf":7},{"type":"integer","multipleOf":11}]}`, `{"oneOf":[{"type":"integer","multipleOf":7},{"type":"integer","multipleOf":11},{"type":"integer","multipleOf":13,"minimum":1000}]}`, "LU"},
	{"oneOf added", `{"type":"string"}`, `{"type":"string","oneOf":[{"maxLength":3},{"minLength":2}]}`, "T"},
	{"oneOf branches reordered", `{"oneOf":[{"type":"string"},{"type":"number"}]}`, `{"oneOf":[{"type":"number"},{"type":"string"}]}`, "="},
	// anyOf: changed branches are compared with their counterparts
	{"anyOf branch narrowed, one added", `{"anyOf":[{"type":"string","maxLength":5},{"type":"number"}]}`, `{"anyOf":[{"type":"string","maxLength":3},{"type":"number"},{"type":"null"}]}`, "TL"},
	{"anyOf branches reordered", `{"anyOf":[{"type":"string"},{"type":"number"}]}`, `{"anyOf":[{"type":"number"},{"type":"string"}]}`, "="},
	{"anyOf branch bound raised", `{"anyOf":[{"type":"string"},{"type":"number","minimum":0}]}`, `{"anyOf":[{"type":"string"},{"type":"number","minimum":5}]}`, "T"},
	{"anyOf branch widened", `{"anyOf":[{"type":"string","maxLength":3},{"type":"number"}]}`, `{"anyOf":[{"type":"string","maxLength":8},{"type":"number"}]}`, "L"},
	// allOf
	{"allOf member added", `{"allOf":[{"type":"object"}]}`, `{"allOf":[{"type":"object"},{"required":["id"]}]}`, "T"},
	{"allOf member removed", `{"allOf":[{"type":"object"},{"required":["id"]}]}`, `{"allOf":[{"type":"object"}]}`, "L"},
	{"allOf reordered", `{"allOf":[{"type":"object"},{"required":["id"]}]}`, `{"allOf":[{"required":["id"]},{"type":"object"}]}`, "="},
	// not
	{"not target changed behind a $ref", `{"$defs":{"bad":{"const":"a"}},"type":"string","not":{"$ref":"#/$defs/bad"}}`, `{"$defs":{"bad":{"enum":["a","b"]}},"type":"string","not":{"$ref":"#/$defs/bad"}}`, "T"},
	{"not widened", `{"type":"string","not":{"maxLength":2}}`, `{"type":"string","not":{"maxLength":4}}`, "T"},
	{"not narrowed", `{"type":"string","not":{"maxLength":4}}`, `{"type":"string","not":{"maxLength":2}}`, "L"},
	// if/then/else
	{"then narrowed", `{"if":{"properties":{"a":{"const":1}},"required":["a"]},"then":{"required":["b"]}}`, `{"if":{"properties":{"a":{"const":1}},"required":["a"]},"then":{"required":["b","c"]}}`, "T"},
	{"then target changed behind a $ref", `{"$defs":{"b":{"type":"string"}},"if":{"required":["a"]},"then":{"properties":{"b":{"$ref":"#/$defs/b"}}}}`, `{"$defs":{"b":{"type":"string","maxLength":2}},"if":{"required":["a"]},"then":{"properties":{"b":{"$ref":"#/$defs/b"}}}}`, "T"},
	{"if widened", `{"type":"object","if":{"properties":{"a":{"minimum":5}}},"then":{"required":["b"]}}`, `{"type":"object","if":{"properties":{"a":{"minimum":3}}},"then":{"required":["b"]}}`, "TU"},
	// dependentRequired, dependencies, dependentSchemas
	{"dependentRequired grew", `{"type":"object","dependentRequired":{"card":["billing"]}}`, `{"type":"object","dependentRequired":{"card":["billing","cvv"]}}`, "T"},
	{"dependentRequired shrank", `{"type":"object","dependentRequired":{"card":["billing","cvv"]}}`, `{"type":"object","dependentRequired":{"card":["billing"]}}`, "L"},
	{"draft 7 dependencies grew", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","dependencies":{"card":["billing"]}}`, `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","dependencies":{"card":["billing","cvv"]}}`, "T"},
	{"dependentSchemas narrowed", `{"type":"object","dependentSchemas":{"card":{"properties":{"cvv":{"type":"string"}}}}}`, `{"type":"object","dependentSchemas":{"card":{"properties":{"cvv":{"type":"string","maxLength":4}}}}}`, "T"},
	// patternProperties, pattern and additionalProperties
	{"pattern property narrowed, name also listed", `{"type":"object","properties":{"x-a":{}},"patternProperties":{"^x-a$":{"type":["string","number"]}}}`, `{"type":"object","properties":{"x-a":{}},"patternProperties":{"^x-a$":{"type":"string"}}}`, "T"},
	{"additionalProperties false, pattern matches the usual extra name", `{"type":"object","patternProperties":{"^extra":{}}}`, `{"type":"object","patternProperties":{"^extra":{}},"additionalProperties":false}`, "T"},
	{"pattern widened, other direction unproven", `{"type":"string","pattern":"^[a-z]+$"}`, `{"type":"string","pattern":"^[a-z0-9]+$"}`, "LU"},
	{"pattern rewritten, undecided", `{"type":"string","pattern":"^a+$"}`, `{"type":"string","pattern":"^(a|aa)+$"}`, "U"},
	{"pattern property added", `{"type":"object"}`, `{"type":"object","patternProperties":{"^x-":{"type":"string"}}}`, "T"},
	// $ref and recursion
	{"recursive schema narrowed", `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"},"v":{"type":["string","integer"]}}}},"$ref":"#/$defs/node"}`, `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"},"v":{"type":"integer"}}}},"$ref":"#/$defs/node"}`, "T"},
	{"$ref added next to other keywords", `{"type":"string"}`, `{"$defs":{"s":{"maxLength":3}},"type":"string","$ref":"#/$defs/s"}`, "T"},
	{"$ref kept, keyword added beside it", `{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s"}`, `{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s","maxLength":3}`, "T"},
	{"$ref kept, keyword removed beside it", `{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s","maxLength":3}`, `{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s"}`, "L"},
	{"recursive property added", `{"type":"object"}`, `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"}}}},"type":"object","properties":{"a":{"$ref":"#/$defs/node"}}}`, "T"},
	{"$dynamicRef target changed", `{"$defs":{"x":{"$dynamicAnchor":"x","type":"string"}},"properties":{"a":{"$dynamicRef":"#x"}}}`, `{"$defs":{"x":{"$dynamicAnchor":"x","type":"number"}},"properties":{"a":{"$dynamicRef":"#x"}}}`, "TL"},
	{"$ref with unevaluatedProperties added", `{"$defs":{"a":{"properties":{"a":{}}}},"$ref":"#/$defs/a"}`, `{"$defs":{"a":{"properties":{"a":{}}}},"$ref":"#/$defs/a","unevaluatedProperties":false}`, "T"},
	// unevaluatedProperties and unevaluatedItems
	{"unevaluatedProperties: property moved", `{"type":"object","allOf":[{"properties":{"a":{}}}],"unevaluatedProperties":false}`, `{"type":"object","allOf":[{"properties":{"b":{}}}],"unevaluatedProperties":false}`, "TL"},
	{"unevaluatedProperties added", `{"type":"object","properties":{"a":{}}}`, `{"type":"object","properties":{"a":{}},"unevaluatedProperties":false}`, "T"},
	{"unevaluatedItems narrowed", `{"type":"array","prefixItems":[{"type":"string"}],"unevaluatedItems":{"type":["string","number"]}}`, `{"type":"array","prefixItems":[{"type":"string"}],"unevaluatedItems":{"type":"string"}}`, "T"},
	// contains
	{"minContains raised", `{"type":"array","contains":{"type":"string"},"minContains":1}`, `{"type":"array","contains":{"type":"string"},"minContains":2}`, "T"},
	{"maxContains added", `{"type":"array","contains":{"type":"string"}}`, `{"type":"array","contains":{"type":"string"},"maxContains":1}`, "T"},
	{"contains target narrowed behind a $ref", `{"$defs":{"s":{"type":["string","number"]}},"type":"array","contains":{"$ref":"#/$defs/s"}}`, `{"$defs":{"s":{"type":"string"}},"type":"array","contains":{"$ref":"#/$defs/s"}}`, "T"},
	// propertyNames
	{"propertyNames narrowed", `{"type":"object","propertyNames":{"maxLength":5}}`, `{"type":"object","propertyNames":{"maxLength":3}}`, "T"},
	{"propertyNames target narrowed behind a $ref", `{"$defs":{"n":{"pattern":"^[a-z]+$"}},"type":"object","propertyNames":{"$ref":"#/$defs/n"}}`, `{"$defs":{"n":{"pattern":"^[a-z]{1,3}$"}},"type":"object","propertyNames":{"$ref":"#/$defs/n"}}`, "T"},
	// arrays in draft 7 and prefixItems
	{"draft 7 tuple items narrowed", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":["string","number"]}]}`, `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}]}`, "T"},
	{"draft 7 additionalItems false", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}]}`, `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}],"additionalItems":false}`, "T"},
	{"prefixItems grew", `{"type":"array","prefixItems":[{"type":"string"}]}`, `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}`, "T"},
	// drafts, const and enum, multipleOf, format
	{"draft 7 to 2020-12 with unevaluatedProperties", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","unevaluatedProperties":false}`, `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","unevaluatedProperties":false}`, "T"},
	{"const 1 written 1.0", `{"const":1}`, `{"const":1.0}`, "="},
	{"enum replaced by a type", `{"enum":["a","b"]}`, `{"type":"string","maxLength":3}`, "L"},
	{"multipleOf 0.5 on integers", `{"type":"integer"}`, `{"type":"integer","multipleOf":0.5}`, "="},
	{"format added without a type", `{}`, `{"format":"email"}`, "T"},
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
			if len(r.Unknown) > 0 {
				got += "U"
			}
			if got == "" {
				got = "="
			}
			if got != tc.want {
				t.Errorf("got %s, want %s\n%s", got, tc.want, describe(r))
			}
			if r.Breaking != strings.ContainsAny(tc.want, "TU") {
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
