package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"
)

// flattenDocument decodes a TOML or YAML document into one value per leaf,
// keyed by path: concurrent, runners[0].autoscaler.max_instances,
// runners[0].docker.volumes (lists of scalars stay whole). Comparing these
// maps compares the documents semantically: formatting, comments and key
// order do not count.
func flattenDocument(format FileFormat, data []byte) (map[string]any, error) {
	var doc map[string]any
	switch format {
	case FormatTOML:
		if err := toml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("decode TOML: %w", stripPosition(err))
		}
	case FormatYAML:
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("decode YAML: not valid")
		}
	default:
		return nil, fmt.Errorf("not a structured format")
	}
	out := map[string]any{}
	flattenInto(out, "", doc)
	return out, nil
}

// stripPosition keeps TOML errors from quoting the document, which may
// hold secrets.
func stripPosition(err error) error {
	if pe, ok := err.(toml.ParseError); ok {
		return fmt.Errorf("line %d: syntax error", pe.Position.Line)
	}
	return fmt.Errorf("not valid")
}

func flattenInto(out map[string]any, prefix string, v any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 && prefix != "" {
			out[prefix] = map[string]any{}
		}
		for k, vv := range t {
			flattenInto(out, join(k), vv)
		}
	case []map[string]any:
		for i, vv := range t {
			flattenInto(out, fmt.Sprintf("%s[%d]", prefix, i), vv)
		}
	case []any:
		if containsMaps(t) {
			for i, vv := range t {
				flattenInto(out, fmt.Sprintf("%s[%d]", prefix, i), vv)
			}
			return
		}
		out[prefix] = normalizeScalar(t)
	default:
		out[prefix] = normalizeScalar(t)
	}
}

func containsMaps(l []any) bool {
	for _, v := range l {
		if _, ok := v.(map[string]any); ok {
			return true
		}
	}
	return false
}

// normalizeScalar makes values of both decoders comparable and JSON-stable:
// every number is a float64, times are RFC 3339 strings.
func normalizeScalar(v any) any {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case int:
		return float64(t)
	case time.Time:
		return t.Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalizeScalar(e)
		}
		return out
	}
	return v
}

// sortedFlatKeys returns the keys of a flattened document in reading order.
func sortedFlatKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return flatKeyLess(keys[i], keys[j]) })
	return keys
}

// flatKeyLess orders runners[2] before runners[10].
func flatKeyLess(a, b string) bool {
	return padIndexes(a) < padIndexes(b)
}

func padIndexes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			j := strings.IndexByte(s[i:], ']')
			if j > 0 {
				fmt.Fprintf(&b, "[%08s]", s[i+1:i+j])
				i += j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
