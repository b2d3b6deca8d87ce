package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "sigs.k8s.io/yaml/goyaml.v3"
)

// MaxFileSize bounds what Load and Parse read. A real fleet.yaml is a few
// kilobytes; anything near this limit is a mistake or an attack, and refusing
// it up front keeps memory bounded.
const MaxFileSize = 1 << 20

// Load reads and parses the fleet.yaml at path. See Parse.
func Load(path string) (*Fleet, error) {
	data, err := ReadLocalFile(path, MaxFileSize)
	var tooBig *TooLargeError
	if errors.As(err, &tooBig) {
		size := tooBig.Size
		if size < 0 {
			size = MaxFileSize + 1
		}
		return nil, Problems{tooLarge(path, size)}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

func tooLarge(name string, size int64) Problem {
	what := fmt.Sprintf("%d bytes", size)
	if size == MaxFileSize+1 {
		what = "larger than that" // read only up to the limit
	}
	return Problem{File: name, Pos: Pos{1, 1}, Message: fmt.Sprintf(
		"fleet.yaml is limited to %d bytes (1 MiB) and this file is %s: is this the right file?", MaxFileSize, what)}
}

// Parse decodes a fleet.yaml strictly, applies defaults and validates it.
// name is used in messages (usually the path). When anything is wrong the
// error is Problems, holding every error found, each with its position and
// field path; warnings are left to Lint.
func Parse(name string, data []byte) (*Fleet, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{tooLarge(name, int64(len(data)))}
	}
	if p, bad := checkShape(name, data); bad {
		return nil, Problems{p}
	}
	if p, bad := checkText(name, data); bad {
		p.Path = pathAt(data, p.Pos)
		return nil, Problems{p}
	}
	root, p := parseDocument(name, data)
	if p != nil {
		return nil, Problems{*p}
	}
	f := &Fleet{Source: name}
	d := &decoder{file: name, positions: map[string]Pos{"": nodePos(root)}}
	d.decode(root, "", reflect.ValueOf(f).Elem())
	f.positions = d.positions
	if f.written("version") && f.Version != Version && !d.coveredByDecodeProblem("version") {
		// Another version's fields would only add noise to this one fact.
		return nil, Problems{{File: name, Pos: f.Pos("version"), Path: "version", Message: fmt.Sprintf(
			"unsupported version %d: this fleetctl reads version: 1; use the fleetctl release that matches the file", f.Version)}}
	}
	f.applyDefaults()
	problems, truncated := d.problems, d.truncated
	if !d.full() {
		for _, vp := range f.validate() {
			if !d.coveredByDecodeProblem(vp.Path) {
				problems = append(problems, vp)
			}
		}
	}
	if len(problems) == 0 {
		return f, nil
	}
	sortProblems(problems)
	if len(problems) > maxProblems {
		problems, truncated = problems[:maxProblems], true
	}
	if truncated {
		last := problems[len(problems)-1]
		problems = append(problems, Problem{File: name, Pos: last.Pos, Path: last.Path,
			Message: fmt.Sprintf("stopped after %d problems: fix these first", maxProblems)})
	}
	return nil, Problems(problems)
}

// MaxLines bounds the lines (and, for one-line flow style, the commas) of a
// fleet.yaml. A real one is a few hundred lines; a file of 200000 one-line
// mappings would cost the YAML parser seconds and hundreds of megabytes.
const MaxLines = 20000

// checkShape refuses files too long to be a fleet.yaml before parsing them.
func checkShape(name string, data []byte) (Problem, bool) {
	if lines := bytes.Count(data, []byte("\n")); lines > MaxLines {
		return Problem{File: name, Pos: Pos{MaxLines + 1, 1}, Message: fmt.Sprintf(
			"file has %d lines; fleet.yaml is limited to %d: is this the right file?", lines, MaxLines)}, true
	}
	if commas := bytes.Count(data, []byte(",")); commas > MaxLines {
		return Problem{File: name, Pos: Pos{1, 1}, Message: fmt.Sprintf(
			"file holds %d commas; fleet.yaml is limited to %d list or mapping entries: is this the right file?", commas, MaxLines)}, true
	}
	return Problem{}, false
}

// checkText refuses data that is not UTF-8 text before the YAML parser sees
// it, with the position of the first offending byte.
func checkText(name string, data []byte) (Problem, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return Problem{File: name, Pos: Pos{line, col}, Message: fmt.Sprintf(
				"byte 0x%02x is not valid UTF-8: save fleet.yaml as UTF-8 text (or is this a binary file?)", data[i])}, true
		case r == 0:
			return Problem{File: name, Pos: Pos{line, col}, Message: "NUL byte: fleet.yaml must be text (is this a binary file?)"}, true
		case (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff:
			return Problem{File: name, Pos: Pos{line, col}, Message: fmt.Sprintf(
				"control character U+%04X: fleet.yaml must be plain text (is this a binary file?)", r)}, true
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return Problem{}, false
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument parses exactly one YAML document whose root is a mapping.
func parseDocument(name string, data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{File: name, Pos: Pos{1, 1}, Message: "file is empty: a fleet.yaml starts with version: 1"}
		}
		return nil, syntaxProblem(name, data, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Problem{File: name, Pos: Pos{1, 1}, Message: "file holds no document: a fleet.yaml starts with version: 1"}
	}
	root := doc.Content[0]
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxProblem(name, data, err)
	default:
		pos := nodePos(&second)
		if len(second.Content) > 0 {
			pos = nodePos(second.Content[0])
		}
		return nil, &Problem{File: name, Pos: pos, Message: "a second YAML document: a fleet.yaml holds exactly one; remove the extra --- and what follows, or split it into another file"}
	}
	if n, path := findAlias(root, "", 0); n != nil {
		return nil, &Problem{File: name, Pos: nodePos(n), Path: path, Message: aliasMessage}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Problem{File: name, Pos: nodePos(root), Message: fmt.Sprintf(
			"the document is %s; a fleet.yaml is a mapping of fields (version: 1, name: ..., manager: ..., gitlab_runner: ...)", describe(root, false))}
	}
	return root, nil
}

// findAlias returns the first anchor, alias or merge key in the tree. They
// are refused before anything else looks at the tree, so an alias bomb
// costs no more than its own bytes.
func findAlias(n *yaml.Node, path string, depth int) (*yaml.Node, string) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!merge") {
		return n, path
	}
	if depth > 100 {
		return nil, "" // the decoder refuses such nesting as wrong types
	}
	for i, c := range n.Content {
		p := path
		switch {
		case n.Kind == yaml.SequenceNode:
			p = fmt.Sprintf("%s[%d]", path, i)
		case n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Kind == yaml.ScalarNode:
			p = keyPath(path, n.Content[i-1].Value)
		}
		if found, at := findAlias(c, p, depth+1); found != nil {
			return found, at
		}
	}
	return nil, ""
}

// syntaxHints add a likely fix to the YAML parser's terse messages.
var syntaxHints = []struct{ contains, hint string }{
	{"mapping values are not allowed", "check the indentation of this line against the one above, or quote a value that contains \": \""},
	{"did not find expected key", "check the indentation of the fields that follow"},
	{"did not find expected '-' indicator", "check the indentation of the items and fields of this list"},
	{"tab character", "indent with spaces, not tabs"},
	{"unexpected end of stream", "is a quote or bracket left open?"},
	{"did not find expected ',' or ']'", "is a [ list ] left open?"},
	{"did not find expected ',' or '}'", "is a { mapping } left open?"},
	{"found character that cannot start any token", "quote values that begin with @ or `, and indent with spaces"},
}

func syntaxProblem(name string, data []byte, err error) *Problem {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 1
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if strings.HasPrefix(msg, "did not find expected") {
			// The parser (unlike the scanner) reports the line of the
			// collection it was reading counting from 0.
			line++
		}
	}
	for _, h := range syntaxHints {
		if strings.Contains(msg, h.contains) {
			msg += ": " + h.hint
			break
		}
	}
	col := syntaxColumn(data, line, msg)
	if strings.Contains(msg, "tab character") && col == 0 {
		// The parser reports the line before the tab it stumbled on.
		line++
		col = syntaxColumn(data, line, msg)
	}
	return &Problem{File: name, Pos: Pos{line, max(col, 1)}, Message: "YAML syntax error: " + msg}
}

// syntaxColumn guesses the column of a syntax error on line, which the YAML
// parser does not report: the tab, the colon or the quote it complains
// about, else the line's first character; 0 for a tab error without a tab.
func syntaxColumn(data []byte, line int, msg string) int {
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if line < 1 || line > len(lines) {
		return 1
	}
	text := string(lines[line-1])
	at := -1
	switch {
	case strings.Contains(msg, "tab character"):
		if at = strings.IndexByte(text, '\t'); at < 0 {
			return 0
		}
	case strings.Contains(msg, "mapping values are not allowed"):
		at = strings.Index(text, ": ")
		if at < 0 && strings.HasSuffix(text, ":") {
			at = len(text) - 1
		}
	case strings.Contains(msg, "unexpected end of stream"):
		at = strings.IndexAny(text, "\"'[{")
	case strings.Contains(msg, "expected ',' or ']'"):
		at = strings.IndexByte(text, '[')
	case strings.Contains(msg, "expected ',' or '}'"):
		at = strings.IndexByte(text, '{')
	}
	if at < 0 {
		at = len(text) - len(strings.TrimLeft(text, " \t"))
	}
	return utf8.RuneCountInString(text[:at]) + 1
}

func nodePos(n *yaml.Node) Pos {
	return Pos{Line: n.Line, Col: n.Column}
}

// pathAt finds the field path written at pos, for problems found before
// parsing: the offending characters are blanked out and the rest parsed.
func pathAt(data []byte, pos Pos) string {
	clean := []byte(strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r == 0 || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f) || r == 0xfffe || r == 0xffff {
			return ' '
		}
		return r
	}, string(data)))
	var doc yaml.Node
	if err := yaml.Unmarshal(clean, &doc); err != nil || len(doc.Content) == 0 {
		return ""
	}
	best, bestPos := "", Pos{}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		p := nodePos(n)
		if before(p, pos) && !before(p, bestPos) {
			best, bestPos = path, p
		}
		if depth > 50 {
			return
		}
		for i, c := range n.Content {
			switch {
			case n.Kind == yaml.SequenceNode:
				walk(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			case n.Kind == yaml.MappingNode && i%2 == 1:
				walk(c, keyPath(path, n.Content[i-1].Value), depth+1)
			}
		}
	}
	walk(doc.Content[0], "", 0)
	return best
}

// before reports whether a is at or before b.
func before(a, b Pos) bool {
	return a.Line < b.Line || (a.Line == b.Line && a.Col <= b.Col)
}
