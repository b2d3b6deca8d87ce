package reconcile

import (
	"fmt"
	"time"

	"github.com/fleetctl/fleetctl/render"
	"sigs.k8s.io/yaml"
)

// flattenDocument decodes a TOML or YAML document into one value per leaf,
// keyed by path: concurrent, runners[0].autoscaler.max_instances,
// runners[0].docker.volumes (lists of scalars stay whole). Comparing these
// maps compares the documents semantically: formatting, comments and key
// order do not count. The error's text says why the document is unreadable:
// "not valid TOML", "not valid YAML" or "too deep" (see MaxDocumentDepth).
func flattenDocument(format FileFormat, data []byte) (map[string]any, error) {
	var doc map[string]any
	switch format {
	case FormatTOML, FormatYAML:
	default:
		return nil, fmt.Errorf("not a structured format")
	}
	// Checked before a decoder sees the data and again on what it decoded
	// (YAML's block style nests by indentation, without brackets).
	if bracketDepth(data, MaxDocumentDepth) > MaxDocumentDepth {
		return nil, errTooDeep
	}
	switch format {
	case FormatTOML:
		// render.NormalizeConfig drops what gitlab-runner writes back and
		// the zero values and long durations of a file it re-saved.
		normalized, err := render.NormalizeConfig(data)
		if err != nil {
			return nil, fmt.Errorf("not valid %s", formatName(format))
		}
		doc = normalized
	case FormatYAML:
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("not valid %s", formatName(format))
		}
	}
	if deeperThan(doc, MaxDocumentDepth) {
		return nil, errTooDeep
	}
	out := map[string]any{}
	flattenInto(out, "", doc)
	return out, nil
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
