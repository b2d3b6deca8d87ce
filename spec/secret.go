package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// Resolve reads the secret's value from the environment or its file. Errors
// name the variable or file and never contain the value.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.Env != "" && s.File != "":
		return "", fmt.Errorf("secret sets both env and file: keep one")
	case s.Env != "":
		value, ok := os.LookupEnv(s.Env)
		if !ok || value == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return value, nil
	case s.File != "":
		path, err := ExpandHome(s.File)
		if err != nil {
			return "", fmt.Errorf("secret file %s: %w", s.File, err)
		}
		info, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("secret file %s: %w", path, pathlessError(err))
		}
		if !info.Mode().IsRegular() {
			return "", fmt.Errorf("secret file %s: not a regular file", path)
		}
		if info.Size() > MaxFileSize {
			return "", fmt.Errorf("secret file %s: %d bytes is too large for a secret", path, info.Size())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("secret file %s: %w", path, pathlessError(err))
		}
		value := strings.TrimSuffix(string(data), "\n")
		value = strings.TrimSuffix(value, "\r")
		if value == "" {
			return "", fmt.Errorf("secret file %s is empty", path)
		}
		return value, nil
	}
	return "", fmt.Errorf("secret is not set: write {env: NAME} or {file: PATH}")
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
		info, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("ssh key %s: public key file %s: %w", k.Name, path, pathlessError(err))
		}
		if info.Size() > 64<<10 {
			return "", fmt.Errorf("ssh key %s: public key file %s: %d bytes is too large for a public key", k.Name, path, info.Size())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("ssh key %s: public key file %s: %w", k.Name, path, pathlessError(err))
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
