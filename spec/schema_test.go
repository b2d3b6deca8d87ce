package spec

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"
)

func loadSchema(t *testing.T) *openapi3.Schema {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	// kin-openapi reads the JSON Schema vocabulary itself; the dialect
	// marker is for editors.
	delete(doc, "$schema")
	data, _ := json.Marshal(doc)
	var s openapi3.Schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("kin-openapi cannot read the schema: %v", err)
	}
	if err := s.Validate(context.Background()); err != nil {
		t.Fatalf("schema is not valid: %v", err)
	}
	return &s
}

func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("YAMLToJSON: %v", err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSchemaAcceptsExamples validates every shipped example and valid
// testdata file against Schema(), as an editor would.
func TestSchemaAcceptsExamples(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	for _, path := range validFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(yamlValue(t, data), openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not validate against the schema:\n%v", path, err)
		}
	}
}

// TestSchemaRefusesMistakes checks that the schema is not vacuous: the
// mistakes an editor can catch are caught.
func TestSchemaRefusesMistakes(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	for _, name := range []string{
		"unknown-field-typo", "duration-integer", "token-literal", "token-both", "concurrent-zero",
		"version-2", "log-level-verbose", "port-integer", "plugin-unknown", "protocol-unknown",
		"manager-missing", "capacity-zero", "connector-winrm", "ssh-key-both", "periods-string",
	} {
		data, err := os.ReadFile("testdata/invalid-" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(yamlValue(t, data)); err == nil {
			t.Errorf("schema accepts testdata/invalid-%s.yaml", name)
		}
	}
}

// TestEveryFieldDocumented keeps fieldDocs and the types in step: every
// field has a description and no description is left for a removed field.
func TestEveryFieldDocumented(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t2 reflect.Type) {
		for t2.Kind() == reflect.Pointer || t2.Kind() == reflect.Slice || t2.Kind() == reflect.Map {
			t2 = t2.Elem()
		}
		if t2.Kind() != reflect.Struct || seen[t2.Name()] {
			return
		}
		seen[t2.Name()] = true
		if typeDocs[t2.Name()] == "" {
			t.Errorf("type %s has no typeDocs entry", t2.Name())
		}
		for name, i := range structFields(t2) {
			key := t2.Name() + "." + name
			if strings.TrimSpace(fieldDocs[key].Description) == "" {
				t.Errorf("field %s has no description in fieldDocs", key)
			}
			seen[key] = true
			walk(t2.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(Fleet{}))
	var stale []string
	for key := range fieldDocs {
		if !seen[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("fieldDocs documents fields that do not exist: %v", stale)
	}
}
