package hcloudsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// apiError is an error answer of the API: its HTTP status, code, message and
// optional details, written as {"error": {...}}.
type apiError struct {
	status  int
	code    string
	message string
	details any
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

type fieldError struct {
	Name     string   `json:"name"`
	Messages []string `json:"messages"`
}

// errInvalid is 422 invalid_input naming the fields in details.fields.
func errInvalid(fields ...fieldError) *apiError {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, fmt.Sprintf("invalid input in field '%s': %s", f.Name, strings.Join(f.Messages, ", ")))
	}
	return &apiError{status: 422, code: "invalid_input", message: strings.Join(parts, "; "),
		details: map[string]any{"fields": fields}}
}

func errField(name, message string) *apiError {
	return errInvalid(fieldError{Name: name, Messages: []string{message}})
}

func errNotFound(what string) *apiError {
	return &apiError{status: 404, code: "not_found", message: what + " not found"}
}

func errUnique(field, message string) *apiError {
	return &apiError{status: 409, code: "uniqueness_error", message: message,
		details: map[string]any{"fields": []map[string]string{{"name": field}}}}
}

func errProtected(what string) *apiError {
	return &apiError{status: 423, code: "protected", message: what + " is protected"}
}

func errRateLimit() *apiError {
	return &apiError{status: 429, code: "rate_limit_exceeded", message: "limit of requests per hour reached"}
}

func errJSON(err error) *apiError {
	return &apiError{status: 400, code: "json_error", message: "invalid JSON input in your request: " + err.Error()}
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"code": e.code, "message": e.message, "details": e.details}
	if e.details == nil {
		body["details"] = map[string]any{}
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = 500
		buf.Reset()
		fmt.Fprintf(&buf, `{"error":{"code":"server_error","message":%q,"details":{}}}`, err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// decode reads a JSON request body into v; an empty body decodes as {}.
func decode(r *http.Request, v any) *apiError {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20)); err != nil {
		return errJSON(err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return errJSON(err)
	}
	return nil
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
