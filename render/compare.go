package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// NormalizeConfig decodes a config.toml into the form in which two files
// that mean the same to gitlab-runner are equal (compare the results with
// go-cmp or reflect.DeepEqual). It removes RunnerWrittenKeys, the defaults
// gitlab-runner writes when it re-saves the file, and every key holding a
// zero value (false, 0, "", an empty list or table), which gitlab-runner and
// the plugins read as if it were absent; it writes durations in one form
// ("1h" and "1h0m0s" are the same) and a single string where a list is also
// accepted (pull_policy, server_type) as a list.
//
// A false that gitlab-runner tells apart from an absent key (preemptive_mode
// and the other optional booleans) is kept.
func NormalizeConfig(data []byte) (map[string]any, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, fmt.Errorf("decode config.toml: %w", err)
	}
	for _, key := range RunnerWrittenKeys {
		deletePath(doc, strings.Split(key, "."))
	}
	for key, value := range savedDefaults {
		parts := strings.Split(key, ".")
		if v, ok := lookupPath(doc, parts); ok && normalizeValue(parts[len(parts)-1], v) == normalizeValue(parts[len(parts)-1], value) {
			deletePath(doc, parts)
		}
	}
	normalized, _ := normalize("", doc)
	if normalized == nil {
		return map[string]any{}, nil
	}
	return normalized.(map[string]any), nil
}

// savedDefaults are values gitlab-runner fills in when it loads the file and
// then writes back when it saves it (common.NewConfig and LoadConfig).
var savedDefaults = map[string]any{
	"session_server.session_timeout": int64((30 * time.Minute).Seconds()),
	"connection_max_age":             (15 * time.Minute).String(),
}

// durationKeys are the keys gitlab-runner decodes into time.Duration.
var durationKeys = map[string]bool{
	"connection_max_age":             true,
	"instance_acquire_timeout":       true,
	"update_interval":                true,
	"update_interval_when_expecting": true,
	"deletion_retry_interval":        true,
	"shutdown_deletion_interval":     true,
	"keepalive":                      true,
	"timeout":                        true,
	"idle_time":                      true,
}

// optionalBoolKeys are booleans gitlab-runner declares as *bool: unset and
// false differ (preemptive_mode unset means "on when idle_count > 0").
var optionalBoolKeys = map[string]bool{
	"preemptive_mode":         true,
	"reservation_throttling":  true,
	"services_privileged":     true,
	"strict_check_interval":   true,
	"proxy_exec":              true,
	"safe_directory_checkout": true,
	"clean_git_config":        true,
	"DualStack":               true,
	"PathStyle":               true,
}

// stringOrListKeys accept one string or a list of strings.
var stringOrListKeys = map[string]bool{
	"pull_policy": true,
	"server_type": true,
}

// normalize returns the normalized value and whether to keep it.
func normalize(key string, v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, sub := range v {
			if n, keep := normalize(k, sub); keep {
				out[k] = n
			}
		}
		return out, len(out) > 0
	case []map[string]any:
		out := make([]map[string]any, 0, len(v))
		for _, sub := range v {
			n, _ := normalize("", sub)
			out = append(out, n.(map[string]any))
		}
		return out, len(out) > 0
	case []any:
		return v, len(v) > 0
	case string:
		if v == "" {
			return nil, false
		}
		if stringOrListKeys[key] {
			return []any{v}, true
		}
		if durationKeys[key] {
			if d, err := time.ParseDuration(v); err == nil {
				return d.String(), d != 0
			}
		}
		return v, true
	case bool:
		return v, v || optionalBoolKeys[key]
	case int64:
		return v, v != 0
	case float64:
		return v, v != 0
	case time.Time:
		return v, !v.IsZero()
	}
	return v, true
}

// normalizeValue writes a duration in time.Duration's form.
func normalizeValue(key string, v any) any {
	s, ok := v.(string)
	if !ok || !durationKeys[key] {
		return v
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return v
	}
	return d.String()
}

// lookupPath finds the value at a dotted path of plain keys.
func lookupPath(doc map[string]any, parts []string) (any, bool) {
	var cur any = doc
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deletePath removes the key at a dotted path, where "*" is every element of
// an array of tables.
func deletePath(doc map[string]any, parts []string) {
	if len(parts) == 1 {
		delete(doc, parts[0])
		return
	}
	switch next := doc[parts[0]].(type) {
	case map[string]any:
		deletePath(next, parts[1:])
	case []map[string]any:
		if parts[1] != "*" || len(parts) < 3 {
			return
		}
		for _, m := range next {
			deletePath(m, parts[2:])
		}
	}
}
