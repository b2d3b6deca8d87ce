package reconcile

import "errors"

// MaxDocumentDepth bounds the nesting of a document read from the manager
// (config.toml, the fleet.yaml copy). Real ones nest fewer than ten levels;
// a hostile one nested thousands deep made the decoders, the plan's JSON
// round trip and its rendering crash or run for minutes. Deeper documents
// are unreadable ("too deep"), and apply replaces them.
const MaxDocumentDepth = 64

// errTooDeep is flattenDocument's error for a document nested deeper than
// MaxDocumentDepth. Its text is what the plan shows after "unreadable: ".
var errTooDeep = errors.New("too deep")

// bracketDepth returns the deepest nesting of [ and { in a TOML or YAML
// document, outside quoted strings and comments, stopping as soon as it
// passes limit. It is a cheap, linear check made before any decoder sees
// the data; unbalanced brackets in YAML plain scalars can only make it
// count deeper, never shallower, so it errs on the side of refusing.
func bracketDepth(data []byte, limit int) int {
	depth, deepest := 0, 0
	var quote byte // the open quote, or 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' || c == '\n' {
				quote = 0
			}
		case quote != 0:
			if c == quote || c == '\n' {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '[' || c == '{':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return deepest
}

// deeperThan reports whether v, a decoded document, nests maps and lists
// more than limit levels deep. It stops at the first branch past limit.
func deeperThan(v any, limit int) bool {
	if limit < 0 {
		return true
	}
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			if deeperThan(e, limit-1) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if deeperThan(e, limit-1) {
				return true
			}
		}
	case []map[string]any:
		for _, e := range t {
			if deeperThan(e, limit-1) {
				return true
			}
		}
	}
	return false
}

// tooDeepValue is what a value nested past MaxDocumentDepth becomes in a
// plan's Values.
const tooDeepValue = "(unreadable: too deep)"

// boundDepth returns v with every map or list nested more than limit levels
// below it replaced by tooDeepValue, so that no plan value can exceed the
// nesting a JSON round trip accepts. v itself is not modified.
func boundDepth(v any, limit int) any {
	switch t := v.(type) {
	case map[string]any:
		if limit <= 0 {
			return tooDeepValue
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = boundDepth(e, limit-1)
		}
		return out
	case []any:
		if limit <= 0 {
			return tooDeepValue
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = boundDepth(e, limit-1)
		}
		return out
	case []map[string]any:
		if limit <= 0 {
			return tooDeepValue
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = boundDepth(e, limit-1)
		}
		return out
	}
	return v
}
