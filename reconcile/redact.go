package reconcile

import (
	"bytes"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Secrets is the set of secret values a command resolved: the hcloud token,
// the manager's SSH private key, runner tokens, S3 keys. Whatever leaves
// the process through a plan, a log line or an error passes through
// Redact, which replaces every occurrence of any of them — whole or inside a
// longer string such as "FOO=<token>" — with Sensitive. Masking therefore
// does not depend on the key a value is found under.
//
// Values shorter than minSubstringSecret are masked only where a whole
// string equals them: a three-letter "secret" would otherwise mask every
// word that contains it. The zero value and nil are empty sets.
type Secrets struct {
	mu sync.RWMutex
	// values are sorted longest first, so that a secret containing
	// another is masked whole.
	values []string
	short  map[string]bool
}

// minSubstringSecret is the length from which a secret is masked inside
// longer strings too.
const minSubstringSecret = 4

// minSecretLine is the length from which a line of a multi-line secret (a
// PEM private key) is masked on its own.
const minSecretLine = 16

// NewSecrets returns an empty set.
func NewSecrets() *Secrets { return &Secrets{} }

// Add records a resolved secret value, with the forms it can take in
// output: trimmed, URL-escaped, and each long line of a multi-line value.
func (s *Secrets) Add(value string) {
	if s == nil || value == "" {
		return
	}
	forms := []string{value, strings.TrimSpace(value), url.QueryEscape(value), url.PathEscape(value)}
	if strings.Contains(value, "\n") {
		for _, line := range strings.Split(value, "\n") {
			if line = strings.TrimSpace(line); len(line) >= minSecretLine {
				forms = append(forms, line)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range forms {
		s.addLocked(f)
	}
	sort.SliceStable(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
}

func (s *Secrets) addLocked(v string) {
	switch {
	case v == "":
	case len(v) < minSubstringSecret:
		if s.short == nil {
			s.short = map[string]bool{}
		}
		s.short[v] = true
	default:
		for _, have := range s.values {
			if have == v {
				return
			}
		}
		s.values = append(s.values, v)
	}
}

// Redact returns text with every known secret value replaced by Sensitive.
func (s *Secrets) Redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.short[text] || s.short[strings.TrimSpace(text)] {
		return Sensitive
	}
	for _, v := range s.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Sensitive)
		}
	}
	return text
}

// redactValue redacts every string of a plan value: scalars, list
// elements, map keys and map values.
func (s *Secrets) redactValue(v any) any {
	switch t := v.(type) {
	case string:
		return s.Redact(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.redactValue(e)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = s.Redact(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[s.Redact(k)] = s.redactValue(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[s.Redact(k)] = s.Redact(e)
		}
		return out
	case Values:
		return Values(s.redactValue(map[string]any(t)).(map[string]any))
	}
	return v
}

func (s *Secrets) redactValues(v Values) Values {
	if v == nil {
		return nil
	}
	return s.redactValue(v).(Values)
}

// redactPlan masks every known secret in everything a plan shows: values,
// reasons, the names of deposed objects, notes, errors, instance names.
// Addresses and a replace's temporary name stay: apply acts on them. It runs in Diff, so that no
// renderer, saved plan or log can show what the plan does not hold.
func (s *Secrets) redactPlan(p *Plan) {
	if s == nil {
		return
	}
	for i := range p.Changes {
		ch := &p.Changes[i]
		ch.Before, ch.After = s.redactValues(ch.Before), s.redactValues(ch.After)
		ch.Reason = s.Redact(ch.Reason)
		if ch.Deposed != nil {
			// A copy: the name is only shown, the ID is what apply deletes.
			ch.Deposed = &DeposedObject{ID: ch.Deposed.ID, Name: s.Redact(ch.Deposed.Name)}
		}
	}
	for i := range p.NotCompared {
		p.NotCompared[i].Subject = s.Redact(p.NotCompared[i].Subject)
		p.NotCompared[i].Message = s.Redact(p.NotCompared[i].Message)
	}
	for i := range p.Errors {
		p.Errors[i] = s.Redact(p.Errors[i])
	}
	for i := range p.Instances {
		p.Instances[i].Name = s.Redact(p.Instances[i].Name)
	}
}

// RedactError returns err with its message redacted; errors.Is and
// errors.As still see the original chain. A nil err stays nil.
func (s *Secrets) RedactError(err error) error {
	if err == nil || s == nil {
		return err
	}
	if msg := err.Error(); s.Redact(msg) != msg {
		return &redactedError{msg: s.Redact(msg), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RedactingWriter passes whole lines to its writer with every known secret
// masked; Flush writes an unfinished last line. Lines, not single writes,
// are the unit, so a secret written in pieces is still masked; a
// multi-line secret is masked line by line (see Secrets.Add).
type RedactingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *Secrets
	buf     []byte
}

// Writer returns a RedactingWriter onto w.
func (s *Secrets) Writer(w io.Writer) *RedactingWriter {
	return &RedactingWriter{w: w, secrets: s}
}

// Write buffers p and writes every line it completes.
func (r *RedactingWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	i := bytes.LastIndexByte(r.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := string(r.buf[:i+1])
	r.buf = append(r.buf[:0], r.buf[i+1:]...)
	if err := r.writeLines(lines); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (r *RedactingWriter) writeLines(text string) error {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		body := strings.TrimSuffix(line, "\n")
		b.WriteString(r.secrets.Redact(body))
		if len(body) < len(line) {
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(r.w, b.String())
	return err
}

// Flush writes what is buffered.
func (r *RedactingWriter) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	text := string(r.buf)
	r.buf = r.buf[:0]
	return r.writeLines(text)
}
