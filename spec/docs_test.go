package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

const (
	docPath        = "../docs/fleet-yaml.md"
	generatedBegin = "<!-- BEGIN GENERATED: go test ./spec -run TestReferenceDoc -update -->"
	generatedEnd   = "<!-- END GENERATED -->"
	exampleBegin   = "<!-- BEGIN EXAMPLE: examples/tutorial/fleet.yaml -->"
	exampleEnd     = "<!-- END EXAMPLE -->"
)

// TestReferenceDoc keeps docs/fleet-yaml.md's field reference and example
// in step with fieldDocs and examples/tutorial/fleet.yaml.
func TestReferenceDoc(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../examples/tutorial/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := string(doc)
	want := replaceBetween(t, got, generatedBegin, generatedEnd, referenceMarkdown())
	want = replaceBetween(t, want, exampleBegin, exampleEnd, "```yaml\n"+string(example)+"```\n")
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date: run go test ./spec -run TestReferenceDoc -update", docPath)
}

func replaceBetween(t *testing.T, s, begin, end, content string) string {
	t.Helper()
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q", docPath, begin, end)
	}
	return s[:i+len(begin)] + "\n" + content + s[j:]
}

func referenceMarkdown() string {
	var b strings.Builder
	var walk func(path string, t reflect.Type)
	walk = func(path string, t reflect.Type) {
		title := path
		if title == "" {
			title = "top level"
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", title, typeDocs[t.Name()])
		b.WriteString("| field | type | default | description | becomes (config.toml key or Hetzner field) |\n| --- | --- | --- | --- | --- |\n")
		fields := structFields(t)
		var nested []func()
		for _, name := range sortedFieldsInOrder(t) {
			doc := fieldDocs[t.Name()+"."+name]
			ft := t.Field(fields[name]).Type
			def := ""
			if doc.Default != nil {
				j, _ := json.Marshal(doc.Default)
				def = "`" + strings.ReplaceAll(string(j), `"`, "") + "`"
				if s, ok := doc.Default.(string); ok {
					def = "`" + s + "`"
				}
			}
			desc := doc.Description
			var rules []string
			if doc.Required {
				rules = append(rules, "**required**")
			}
			if doc.Enum != nil {
				var vals []string
				for _, v := range doc.Enum {
					vals = append(vals, fmt.Sprintf("`%v`", v))
				}
				rules = append(rules, "one of "+strings.Join(vals, ", "))
			}
			if doc.Minimum != nil {
				rules = append(rules, fmt.Sprintf("≥ %v", *doc.Minimum))
			}
			if doc.Maximum != nil {
				rules = append(rules, fmt.Sprintf("≤ %v", *doc.Maximum))
			}
			if len(rules) > 0 {
				desc += " (" + strings.Join(rules, "; ") + ")"
			}
			becomes := doc.Becomes
			if becomes != "" {
				becomes = "`" + becomes + "`"
				if strings.Contains(doc.Becomes, " ") {
					becomes = doc.Becomes
				}
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", name, docType(ft), def, escapeCell(desc), escapeCell(becomes))
			child := ft
			suffix := ""
			for child.Kind() == reflect.Pointer || child.Kind() == reflect.Slice {
				if child.Kind() == reflect.Slice {
					suffix = "[]"
				}
				child = child.Elem()
			}
			if child.Kind() == reflect.Struct && child != typeSecret {
				childPath := strings.TrimPrefix(path+"."+name+suffix, ".")
				nested = append(nested, func() { walk(childPath, child) })
			}
		}
		for _, n := range nested {
			n()
		}
	}
	walk("", reflect.TypeOf(Fleet{}))
	b.WriteString("\n### secret\n\n" + typeDocs["Secret"] + "\n\n| field | type | description |\n| --- | --- | --- |\n")
	for _, name := range sortedFieldsInOrder(typeSecret) {
		fmt.Fprintf(&b, "| `%s` | string | %s |\n", name, escapeCell(fieldDocs["Secret."+name].Description))
	}
	return b.String()
}

// sortedFieldsInOrder lists JSON field names in declaration order.
func sortedFieldsInOrder(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			names = append(names, name)
		}
	}
	return names
}

func docType(t reflect.Type) string {
	switch t {
	case typeDuration:
		return "duration"
	case typeStringList:
		return "string or list of strings"
	case typeSecret:
		return "[secret](#secret)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return docType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "list of " + docType(t.Elem())
	case reflect.Map:
		return "map of string"
	case reflect.Struct:
		return "mapping"
	}
	return t.String()
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
