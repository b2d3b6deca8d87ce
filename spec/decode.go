package spec

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	yaml "sigs.k8s.io/yaml/goyaml.v3"
)

const aliasMessage = "YAML anchors and aliases (&name, *name, <<: *name) are not accepted: " +
	"write each value out. Aliases can expand a small file into an enormous one, " +
	"and every field needs its own line for precise errors"

// decoder walks a YAML node tree into the fleet types, recording where every
// field was written and every problem found, without stopping at the first.
type decoder struct {
	file      string
	problems  []Problem
	positions map[string]Pos
	// badPaths are the paths with a decode problem; validation problems at
	// or under them are noise and are dropped.
	badPaths []string
	// truncated is set when problems past maxProblems were dropped.
	truncated bool
}

var (
	typeDuration   = reflect.TypeOf(Duration(""))
	typeStringList = reflect.TypeOf(StringList(nil))
	typeSecret     = reflect.TypeOf(Secret{})
)

// maxProblems bounds the problems reported for one file: past it, the file
// is more likely garbage than a fleet.yaml, and more lines help nobody.
const maxProblems = 50

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.full() {
		d.truncated = true
		return
	}
	d.problems = append(d.problems, Problem{File: d.file, Pos: nodePos(n), Path: path, Message: capMessage(fmt.Sprintf(format, args...))})
	d.badPaths = append(d.badPaths, path)
}

func (d *decoder) full() bool { return len(d.problems) >= maxProblems }

func (d *decoder) coveredByDecodeProblem(path string) bool {
	for _, bad := range d.badPaths {
		if isUnder(path, bad) {
			return true
		}
	}
	return false
}

// isUnder reports whether path is parent or a field path beneath it.
func isUnder(path, parent string) bool {
	if parent == "" || path == parent {
		return true
	}
	if !strings.HasPrefix(path, parent) {
		return false
	}
	next := path[len(parent)]
	return next == '.' || next == '['
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.full() {
		d.truncated = true
		return
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.fail(n, path, aliasMessage)
		return
	}
	if isNull(n) {
		// An empty value leaves the field unset, as if it were left out.
		return
	}
	switch v.Type() {
	case typeDuration:
		d.decodeDuration(n, path, v)
		return
	case typeStringList:
		d.decodeStringList(n, path, v)
		return
	case typeSecret:
		d.decodeSecret(n, path, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem() == typeSecret && n.Kind == yaml.ScalarNode {
			d.decodeSecret(n, path, reflect.New(typeSecret).Elem())
			return
		}
		elem := reflect.New(v.Type().Elem())
		d.decode(n, path, elem.Elem())
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.Map:
		d.decodeStringMap(n, path, v)
	case reflect.String:
		if strings.HasSuffix(path, ".user_data") && n.Kind != yaml.ScalarNode {
			d.fail(n, path, "must be a string, not %s: write user_data: | and indent the cloud-config below it, so that it passes through byte for byte", describe(n, false))
			return
		}
		if s, ok := d.scalar(n, path, "!!str", "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int64:
		d.decodeInt(n, path, v)
	case reflect.Float64:
		d.decodeFloat(n, path, v)
	case reflect.Bool:
		if _, ok := d.scalar(n, path, "!!bool", "true or false"); ok {
			var b bool
			if err := n.Decode(&b); err != nil {
				d.fail(n, path, "must be true or false")
				return
			}
			v.SetBool(b)
		}
	default:
		panic(fmt.Sprintf("spec: no decoder for %s at %s", v.Type(), path))
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar checks that n is a scalar with the wanted tag and returns its text.
func (d *decoder) scalar(n *yaml.Node, path, tag, want string) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tag {
		return n.Value, true
	}
	msg := fmt.Sprintf("must be %s, not %s", want, describe(n, true))
	if tag == "!!str" && n.Kind == yaml.ScalarNode {
		msg += fmt.Sprintf("; quote it: %q", n.Value)
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	if tag == "!!bool" && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if quoted && (n.Value == "true" || n.Value == "false") {
			msg += " (write it without quotes)"
		} else {
			msg += " (write true or false)"
		}
	}
	if tag == "!!int" && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && quoted {
		if _, err := strconv.Atoi(n.Value); err == nil {
			msg += " (write it without quotes)"
		}
	}
	d.fail(n, path, "%s", msg)
	return "", false
}

// describe names what a node holds, for "must be X, not Y" messages. With
// showValue, short scalars are quoted; never pass showValue for a field that
// may hold a secret.
func describe(n *yaml.Node, showValue bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	value := n.Value
	if len(value) > 40 {
		value = value[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		if !showValue {
			return "a string"
		}
		return fmt.Sprintf("the string %q", value)
	case "!!int":
		return "the integer " + value
	case "!!float":
		return "the number " + value
	case "!!bool":
		return "the boolean " + value
	case "!!null":
		return "empty"
	case "!!timestamp":
		return "the date " + value
	case "!!binary":
		return "binary data"
	default:
		return fmt.Sprintf("a value tagged %s", n.Tag)
	}
}

func (d *decoder) decodeInt(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && allDigits.MatchString(n.Value) {
		d.fail(n, path, "integer %s is out of range", capKey(n.Value))
		return
	}
	if _, ok := d.scalar(n, path, "!!int", "an integer"); !ok {
		return
	}
	var i int64
	if err := n.Decode(&i); err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		d.fail(n, path, "integer %s is out of range", n.Value)
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeFloat(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.fail(n, path, "must be a number, not %s", describe(n, true))
		return
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		d.fail(n, path, "must be a number, not %s", describe(n, true))
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "must be a finite number, not %s", n.Value)
		return
	}
	v.SetFloat(f)
}

func (d *decoder) decodeDuration(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		d.fail(n, path, "must be a Go duration string such as \"%ss\" or \"1h\", not the number %s: gitlab-runner reads a bare number as nanoseconds", n.Value, n.Value)
		return
	}
	s, ok := d.scalar(n, path, "!!str", "a Go duration string such as \"1h\" or \"90s\"")
	if !ok {
		return
	}
	v.SetString(s)
}

func (d *decoder) decodeStringList(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.ScalarNode {
		if s, ok := d.scalar(n, path, "!!str", "a string or a list of strings"); ok {
			v.Set(reflect.ValueOf(StringList{s}))
		}
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a string or a list of strings, not %s", describe(n, true))
		return
	}
	list := make(StringList, 0, len(n.Content))
	for i, item := range n.Content {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		d.positions[itemPath] = nodePos(item)
		var s string
		d.decode(item, itemPath, reflect.ValueOf(&s).Elem())
		list = append(list, s)
	}
	v.Set(reflect.ValueOf(list))
}

func (d *decoder) decodeSecret(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.ScalarNode {
		if m := shellVariable.FindStringSubmatch(n.Value); m != nil {
			d.fail(n, path, "a shell variable is not expanded here: write {env: %s}", m[1])
			return
		}
	}
	if n.Kind != yaml.MappingNode {
		// Never echo the value: it may well be the secret itself.
		d.fail(n, path, "must be a secret reference, not %s: write {env: %s} or {file: PATH}; a literal secret must not be committed",
			describe(n, false), suggestEnvName(path))
		return
	}
	d.decodeStruct(n, path, v)
}

// suggestEnvName proposes the variable name a user most likely means.
func suggestEnvName(path string) string {
	switch {
	case strings.HasPrefix(path, "hcloud."):
		return "HCLOUD_TOKEN"
	case strings.HasSuffix(path, ".access_key"):
		return "S3_ACCESS_KEY"
	case strings.HasSuffix(path, ".secret_key"):
		return "S3_SECRET_KEY"
	case strings.HasSuffix(path, "private_key"):
		return "SSH_PRIVATE_KEY"
	}
	return "RUNNER_TOKEN"
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		what := "a list"
		if v.Type().Elem().Kind() == reflect.String {
			what = "a list of strings"
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
				d.fail(n, path, "must be a list of strings, not %s; write [%q]", describe(n, true), n.Value)
				return
			}
		}
		if v.Type().Elem() == reflect.TypeOf(FirewallApplyTo{}) && n.Kind == yaml.ScalarNode {
			d.fail(n, path, "must be a list of label selectors, not %s; write [{label_selector: %s}]", describe(n, true), n.Value)
			return
		}
		d.fail(n, path, "must be %s, not %s", what, describe(n, true))
		return
	}
	slice := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		d.positions[itemPath] = nodePos(item)
		d.decode(item, itemPath, slice.Index(i))
	}
	v.Set(slice)
}

var shellVariable = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$`)

var allDigits = regexp.MustCompile(`^[-+]?[0-9]+$`)

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// keyPath appends a map key to a path: labels.runner, or labels["a.b/c"]
// when the key would be ambiguous in dotted form.
func keyPath(path, key string) string {
	key = capKey(key)
	if simpleKey.MatchString(key) {
		return joinPath(path, key)
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func (d *decoder) decodeStringMap(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		msg := fmt.Sprintf("must be a mapping of strings (key: value), not %s", describe(n, true))
		switch {
		case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && !strings.ContainsAny(n.Value, " ,"):
			k, val, _ := strings.Cut(n.Value, "=")
			msg += fmt.Sprintf("; write {%s: %q}", k, val)
		case n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Content[0].Kind == yaml.ScalarNode:
			k, val, _ := strings.Cut(n.Content[0].Value, "=")
			msg += fmt.Sprintf("; write {%s: %q, ...}", k, val)
		}
		d.fail(n, path, "%s", msg)
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if d.full() {
			d.truncated = true
			break
		}
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.mapKey(k, path)
		if !ok {
			continue
		}
		p := keyPath(path, key)
		if line, dup := seen[key]; dup {
			d.fail(k, p, "duplicate key %q (also written on line %d): remove one", key, line)
			continue
		}
		seen[key] = k.Line
		d.positions[p] = nodePos(val)
		if isNull(val) {
			// labels: {runner: } means the empty value, as in the
			// hcloud CLI's --label runner=.
			m.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(""))
			continue
		}
		var s string
		d.decode(val, p, reflect.ValueOf(&s).Elem())
		m.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(s))
	}
	v.Set(m)
}

func (d *decoder) mapKey(k *yaml.Node, path string) (string, bool) {
	if k.Kind == yaml.AliasNode || k.Anchor != "" {
		d.fail(k, path, aliasMessage)
		return "", false
	}
	if k.Kind != yaml.ScalarNode {
		d.fail(k, path, "a key must be a string, not %s", describe(k, false))
		return "", false
	}
	if k.ShortTag() == "!!merge" {
		d.fail(k, path, aliasMessage)
		return "", false
	}
	return k.Value, true
}

// fieldHints explain unknown fields that users carry over from config.toml
// or the upstream plugin's documentation.
var fieldHints = map[string]string{
	"plugin_config": "fleetctl writes plugin_config itself: put the instance settings under autoscaler.instances",
	"token":         "the Hetzner token is set once, at hcloud.token",
	"ssh_key":       "write ssh_keys: [NAME], naming keys declared at the top level under ssh_keys",
	"type":          "the server type is written server_type",
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	fields := structFields(v.Type())
	if n.Kind != yaml.MappingNode {
		msg := fmt.Sprintf("must be a mapping with fields %s, not %s", strings.Join(sortedKeys(fields), ", "), describe(n, true))
		if v.Type() == typeSecret {
			msg = fmt.Sprintf("must be a secret reference, not %s: write {env: %s} or {file: PATH}", describe(n, false), suggestEnvName(path))
		}
		d.fail(n, path, "%s", msg)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if d.full() {
			d.truncated = true
			break
		}
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.mapKey(k, path)
		if !ok {
			continue
		}
		p := joinPath(path, capKey(key))
		if !simpleKey.MatchString(key) {
			p = keyPath(path, key)
		}
		index, known := fields[key]
		if !known {
			d.fail(k, p, "%s", unknownFieldMessage(key, fields))
			if best := nearest(key, sortedKeys(fields)); best != "" {
				// "required" for the field meant is the same mistake.
				d.badPaths = append(d.badPaths, joinPath(path, best))
			}
			if v.Type() == typeSecret {
				d.badPaths = append(d.badPaths, path)
			}
			continue
		}
		if line, dup := seen[key]; dup {
			d.fail(k, p, "duplicate field %q (also written on line %d): remove one", key, line)
			continue
		}
		seen[key] = k.Line
		if val.Kind == yaml.ScalarNode || val.Kind == yaml.AliasNode || val.Style&yaml.FlowStyle != 0 {
			d.positions[p] = nodePos(val)
		} else {
			d.positions[p] = nodePos(k)
		}
		d.decode(val, p, v.Field(index))
	}
}

func unknownFieldMessage(key string, fields map[string]int) string {
	msg := fmt.Sprintf("unknown field %q", capKey(key))
	if best := nearest(key, sortedKeys(fields)); best != "" {
		return msg + fmt.Sprintf("; did you mean %q?", best)
	}
	if hint, ok := fieldHints[key]; ok {
		return msg + "; " + hint
	}
	if where := fieldHomes()[key]; len(where) > 0 {
		return msg + " here; it belongs under " + strings.Join(where, " or ")
	}
	return msg + "; known fields here: " + strings.Join(sortedKeys(fields), ", ")
}

// structFields maps a struct's JSON field names to field indexes.
func structFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = i
	}
	return fields
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo.
func nearest(s string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if dist := editDistance(strings.ToLower(s), c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if len(s) >= 12 {
		limit = 3
	}
	if bestDist <= limit {
		return best
	}
	// A field written with dashes or camel case: idleTime, idle-time.
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	for _, c := range candidates {
		if strings.ReplaceAll(c, "_", "") == norm {
			return c
		}
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// capKey shortens a key for paths and messages: a hostile file can hold a
// key of a megabyte, and no message should repeat it.
func capKey(key string) string {
	if len(key) <= 100 {
		return key
	}
	return strings.ToValidUTF8(key[:97], "") + "..."
}

// capMessage bounds a message, for the same reason as capKey.
func capMessage(msg string) string {
	if len(msg) <= 1000 {
		return msg
	}
	return strings.ToValidUTF8(msg[:997], "") + "..."
}

// fieldHomes maps every field name to the paths of the sections that hold
// it, for "it belongs under ..." hints.
var fieldHomes = sync.OnceValue(func() map[string][]string {
	homes := map[string][]string{}
	var walk func(path string, t reflect.Type, depth int)
	walk = func(path string, t reflect.Type, depth int) {
		if depth > 10 {
			return
		}
		for _, name := range sortedKeys(structFields(t)) {
			field := t.Field(structFields(t)[name])
			section := path
			if section == "" {
				section = "the top level"
			}
			if !contains(homes[name], section) {
				homes[name] = append(homes[name], section)
			}
			ft, suffix := field.Type, ""
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				if ft.Kind() == reflect.Slice {
					suffix = "[]"
				}
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != typeSecret {
				walk(joinPath(path, name+suffix), ft, depth+1)
			}
		}
	}
	walk("", reflect.TypeOf(Fleet{}), 0)
	return homes
})
