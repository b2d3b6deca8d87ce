package reconcile

import (
	"net/url"
	"slices"
	"strings"
)

// What a plan shows of a value read from the manager's files (config.toml,
// the fleet.yaml copy) depends on the key it was found under:
//
//   - a key fleet.yaml sets from a secret reference, or whose name looks
//     secret (token, AccessKey, secret_key, password, ...): Sensitive;
//   - a key fleet.yaml declares otherwise: the live value, with the
//     password of a URL and the values of environment entries fleet.yaml
//     does not set masked;
//   - a key fleet.yaml does not declare: the live value only when the key
//     is known to be harmless (harmlessKeys) or the value is a bool,
//     Sensitive otherwise — a hand-edited config.toml can hold anything.
//
// On top of that, Diff masks every secret value fleetctl resolved wherever
// it appears (Secrets.Redact).

// secretWords are the parts of key names that hold secrets, in normalised
// form (see normalizeKey): access_key, AccessKey and accessKey are all
// "accesskey".
var secretWords = []string{
	"token", "password", "passwd", "passphrase", "secret", "privatekey", "accesskey", "accountkey",
	"apikey", "credential", "sessionkey", "authorization", "cookie",
}

// harmlessKeys are gitlab-runner and fleet.yaml keys, normalised, whose
// values are shown even when fleet.yaml does not set them: they name or
// size things and cannot hold a credential.
var harmlessKeys = []string{
	// gitlab-runner, global and per runner
	"concurrent", "checkinterval", "loglevel", "logformat", "shutdowntimeout", "connectionmaxage",
	"name", "url", "executor", "limit", "requestconcurrency", "outputlimit", "shell",
	// [runners.docker]
	"image", "privileged", "pullpolicy", "memory", "cpus", "networkmode", "disablecache",
	// [runners.autoscaler] and its policy
	"plugin", "capacityperinstance", "maxusecount", "maxinstances", "deleteinstancesonshutdown",
	"periods", "timezone", "idlecount", "idletime", "scalefactor", "scalefactorlimit", "preemptivemode",
	"instanceacquiretimeout", "updateinterval", "updateintervalwhenexpecting",
	// [runners.cache] without its credentials
	"type", "shared", "serveraddress", "bucketname", "bucketlocation", "insecure", "authenticationtype",
	// fleet.yaml
	"version", "location", "servertype", "env", "file",
}

// normalizeKey lowers a key name and drops '_' and '-', so that snake_case,
// kebab-case and CamelCase spellings compare equal.
func normalizeKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(name))
}

// lastSegment is the name of a flattened key's leaf:
// runners[0].cache.s3.AccessKey → AccessKey, policy[1].periods → periods.
func lastSegment(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	return key
}

// looksSecret reports whether a key's name says it holds a secret, in any
// spelling: token, access_key, AccessKey, accessKey, SECRET_KEY, ...
func looksSecret(key string) bool {
	name := normalizeKey(lastSegment(key))
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// isEnvironment reports whether a key is a list of NAME=value entries
// (gitlab-runner's environment): names are shown, values masked.
func isEnvironment(key string) bool { return normalizeKey(lastSegment(key)) == "environment" }

func harmlessKey(key string) bool {
	return slices.Contains(harmlessKeys, normalizeKey(lastSegment(key)))
}

// undeclaredLive is what a plan shows of a live value under a key
// fleet.yaml does not declare.
func undeclaredLive(key string, v any) any {
	if looksSecret(key) {
		return Sensitive
	}
	if _, isList := v.([]any); isList && isEnvironment(key) {
		return declaredLive(key, v, nil)
	}
	if _, ok := v.(bool); ok || harmlessKey(key) {
		return maskCredentials(v)
	}
	return Sensitive
}

// declaredLive is what a plan shows of a live value under a key fleet.yaml
// declares without a secret: the value, minus URL credentials and the values
// of environment entries fleet.yaml does not set.
func declaredLive(key string, live, want any) any {
	if isEnvironment(key) {
		if entries, ok := live.([]any); ok {
			wanted, _ := want.([]any)
			out := make([]any, len(entries))
			for i, e := range entries {
				s, isString := e.(string)
				switch {
				case slices.Contains(wanted, e):
					out[i] = e
				case isString && strings.Contains(s, "="):
					out[i] = s[:strings.IndexByte(s, '=')+1] + Sensitive
				default:
					out[i] = Sensitive
				}
			}
			return out
		}
	}
	return maskCredentials(live)
}

// maskCredentials masks the user information of every URL in a value
// (https://user:password@host), its secret-looking query parameters
// (?private_token=...) and the values of secret-looking map keys.
func maskCredentials(v any) any {
	switch t := v.(type) {
	case string:
		return maskURLPassword(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = maskCredentials(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if looksSecret(k) {
				out[k] = Sensitive
				continue
			}
			out[k] = maskCredentials(e)
		}
		return out
	}
	return v
}

func maskURLPassword(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err == nil && u.RawQuery != "" {
		// ?private_token=...: the values of secret-looking parameters.
		params, masked := strings.Split(u.RawQuery, "&"), false
		for j, p := range params {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil && looksSecret(n) {
				params[j], masked = name+"="+Sensitive, true
			}
		}
		if masked {
			s = strings.Replace(s, "?"+u.RawQuery, "?"+strings.Join(params, "&"), 1)
		}
	}
	if !strings.Contains(s[i:], "@") || err == nil && u.User == nil {
		return s // no user information; an @ in the path or query
	}
	// The whole userinfo: a token is as often the user name (a personal
	// access token) as the password. An unparsable URL shaped like
	// scheme://userinfo@host is masked all the same.
	end := strings.IndexAny(s[i+3:], "/?#")
	if end < 0 {
		end = len(s)
	} else {
		end += i + 3
	}
	at := strings.LastIndexByte(s[:end], '@')
	if at <= i {
		return s
	}
	return s[:i+3] + Sensitive + s[at:]
}
