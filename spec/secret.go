package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// String describes the reference, never the value: "env RUNNER_TOKEN" or
// "file ~/.ssh/id_ed25519".
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env " + s.Env
	case s.File != "":
		return "file " + s.File
	}
	return "unset secret"
}

// Resolve reads a one-line secret (a token, an access key) from the
// environment or its file. One trailing line break (LF or CRLF) is dropped,
// as shells drop it in $(cat file); a value that is then empty or still holds
// a line break or any other control character is refused, so that a stray
// newline never reaches config.toml. Errors name the variable or file and
// never contain the value.
func (s Secret) Resolve() (string, error) { return s.resolve(false) }

// ResolveText is Resolve for a secret of several lines, a private key:
// line breaks inside it are kept; other control characters are refused.
func (s Secret) ResolveText() (string, error) { return s.resolve(true) }

func (s Secret) resolve(multiline bool) (string, error) {
	var value, source string
	switch {
	case s.Env != "" && s.File != "":
		return "", fmt.Errorf("secret sets both env and file: keep one")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		value, source = v, "environment variable "+s.Env
		if value == "" {
			return "", fmt.Errorf("%s is set but empty", source)
		}
	case s.File != "":
		path, err := ExpandHome(s.File)
		if err != nil {
			return "", fmt.Errorf("secret file %s: %w", s.File, err)
		}
		source = "secret file " + path
		data, err := ReadLocalFile(path, MaxFileSize)
		var tooBig *TooLargeError
		if errors.As(err, &tooBig) {
			return "", fmt.Errorf("%s: %v: is this the right file?", source, err)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", source, err)
		}
		value = string(data)
		if value == "" {
			return "", fmt.Errorf("%s is empty", source)
		}
	default:
		return "", fmt.Errorf("secret is not set: write {env: NAME} or {file: PATH}")
	}
	value = trimLineBreak(value)
	if value == "" {
		return "", fmt.Errorf("%s holds only a line break: set the value itself", source)
	}
	if msg := controlCharacter(value, multiline); msg != "" {
		return "", fmt.Errorf("%s %s", source, msg)
	}
	return value, nil
}

// trimLineBreak drops one trailing LF or CRLF.
func trimLineBreak(v string) string {
	if strings.HasSuffix(v, "\n") {
		v = strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
	}
	return v
}

// controlCharacter says what is wrong with a secret value holding a control
// character or bytes that are not UTF-8, or returns "". It names neither the
// character's position nor anything around it.
func controlCharacter(v string, multiline bool) string {
	if !utf8.ValidString(v) {
		return "is not UTF-8 text: is this the right value?"
	}
	for _, r := range v {
		switch {
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case r == '\n' || r == '\r':
			return "holds a line break inside the value (one at the end is dropped): a token is one line; check how it is set"
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Sprintf("holds the control character U+%04X: a secret is printable text; check how it is set", r)
		}
	}
	return ""
}

// pathlessError drops the path an *os.PathError repeats, so that messages
// name the file once.
func pathlessError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// ExpandHome replaces a leading ~ or ~/ with the user's home directory.
// Other paths, including ~user forms, are returned unchanged.
func ExpandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", path, err)
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~")), nil
}

// PublicKeyValue returns the key in authorized_keys form, from public_key or
// read from public_key_file, after checking that it parses.
func (k SSHKey) PublicKeyValue() (string, error) {
	text, source := k.PublicKey, "public_key"
	if k.PublicKey == "" {
		if k.PublicKeyFile == "" {
			return "", fmt.Errorf("ssh key %s: neither public_key nor public_key_file is set", k.Name)
		}
		path, err := ExpandHome(k.PublicKeyFile)
		if err != nil {
			return "", fmt.Errorf("ssh key %s: %w", k.Name, err)
		}
		data, err := ReadLocalFile(path, 64<<10)
		var tooBig *TooLargeError
		if errors.As(err, &tooBig) {
			return "", fmt.Errorf("ssh key %s: public key file %s: %v: is this a public key?", k.Name, path, err)
		}
		if err != nil {
			return "", fmt.Errorf("ssh key %s: public key file %s: %w", k.Name, path, err)
		}
		text, source = string(data), "public key file "+path
	}
	text = strings.TrimSpace(text)
	if strings.Contains(text, "PRIVATE KEY") {
		// Say so without quoting any of it.
		return "", fmt.Errorf("ssh key %s: %s holds a private key: use the public key, the .pub file next to it", k.Name, source)
	}
	if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(text)); err != nil {
		return "", fmt.Errorf("ssh key %s: %s is not an OpenSSH public key: use the .pub file, e.g. ~/.ssh/id_ed25519.pub", k.Name, source)
	} else if len(strings.TrimSpace(string(rest))) > 0 {
		return "", fmt.Errorf("ssh key %s: %s holds more than one key: Hetzner takes one per ssh key", k.Name, source)
	}
	return text, nil
}
