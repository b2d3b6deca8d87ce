package sshhost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
	yaml "sigs.k8s.io/yaml/goyaml.v3"
)

// hostKeyTypes lists the cloud-init ssh_keys entries a host key can come from, in the order the
// host offers them. DSA is left out: OpenSSH no longer accepts DSA host keys.
var hostKeyTypes = []string{"ed25519", "ecdsa", "rsa"}

// cloudConfig is the part of a cloud-init #cloud-config document that decides who may log in
// and which host keys the server presents.
type cloudConfig struct {
	SSHKeys           map[string]string `yaml:"ssh_keys"`
	SSHAuthorizedKeys []string          `yaml:"ssh_authorized_keys"`
	Users             yaml.Node         `yaml:"users"`
}

type cloudUser struct {
	Name              string   `yaml:"name"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

// ParseUserData reads the host keys and authorized keys that cloud-init would install from a
// server's user_data: ssh_keys.<type>_private become host keys (ed25519, ecdsa, rsa, in that
// order), ssh_authorized_keys at the top level and under users become authorized keys.
// user_data that is not a #cloud-config document (a shell script, MIME, empty) yields no keys
// and no error, as cloud-init installs none from it. Errors name the field, never the key.
func ParseUserData(userData string) (hostKeys []ssh.Signer, authorized []ssh.PublicKey, err error) {
	if !isCloudConfig(userData) {
		return nil, nil, nil
	}
	var cfg cloudConfig
	if err := yaml.Unmarshal([]byte(userData), &cfg); err != nil {
		return nil, nil, fmt.Errorf("user_data: %w", err)
	}
	for _, keyType := range hostKeyTypes {
		field := keyType + "_private"
		pem, ok := cfg.SSHKeys[field]
		if !ok {
			continue
		}
		signer, err := ssh.ParsePrivateKey([]byte(pem))
		if err != nil {
			return nil, nil, fmt.Errorf("user_data: ssh_keys.%s: %w", field, err)
		}
		if public, ok := cfg.SSHKeys[keyType+"_public"]; ok {
			if err := sameKey(signer.PublicKey(), public); err != nil {
				return nil, nil, fmt.Errorf("user_data: ssh_keys.%s_public: %w", keyType, err)
			}
		}
		hostKeys = append(hostKeys, signer)
	}

	add := func(field string, lines []string) error {
		for i, line := range lines {
			key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return fmt.Errorf("user_data: %s[%d]: %w", field, i, err)
			}
			authorized = append(authorized, key)
		}
		return nil
	}
	if err := add("ssh_authorized_keys", cfg.SSHAuthorizedKeys); err != nil {
		return nil, nil, err
	}
	users, err := decodeUsers(&cfg.Users)
	if err != nil {
		return nil, nil, err
	}
	for i, user := range users {
		if err := add(fmt.Sprintf("users[%d].ssh_authorized_keys", i), user.SSHAuthorizedKeys); err != nil {
			return nil, nil, err
		}
	}
	return hostKeys, authorized, nil
}

// isCloudConfig reports whether userData is a cloud-config document: its first line is
// "#cloud-config" (cloud-init ignores trailing blanks on it).
func isCloudConfig(userData string) bool {
	first, _, _ := strings.Cut(userData, "\n")
	return strings.TrimRight(first, " \t\r") == "#cloud-config"
}

// decodeUsers decodes cloud-init's users list, whose entries are either a user mapping or a
// string naming a user ("default" for the image's default user), which carries no keys.
func decodeUsers(node *yaml.Node) ([]cloudUser, error) {
	switch node.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		// "users: default" or a comma-separated list of names: no keys.
		return nil, nil
	case yaml.SequenceNode:
	default:
		return nil, fmt.Errorf("user_data: line %d: users: want a list", node.Line)
	}
	var users []cloudUser
	for i, entry := range node.Content {
		switch entry.Kind {
		case yaml.ScalarNode:
			users = append(users, cloudUser{Name: entry.Value})
		case yaml.MappingNode:
			var user cloudUser
			if err := entry.Decode(&user); err != nil {
				return nil, fmt.Errorf("user_data: line %d: users[%d]: %w", entry.Line, i, err)
			}
			users = append(users, user)
		default:
			return nil, fmt.Errorf("user_data: line %d: users[%d]: want a name or a mapping", entry.Line, i)
		}
	}
	return users, nil
}

// sameKey checks that an authorized_keys-format public key is the given key.
func sameKey(want ssh.PublicKey, line string) error {
	got, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return err
	}
	if !bytes.Equal(got.Marshal(), want.Marshal()) {
		return fmt.Errorf("does not match the private key")
	}
	return nil
}

// StableHostKey returns an ed25519 host key derived from seed: the same seed always gives the
// same key, so a client that recorded a server's fingerprint keeps trusting it across restarts.
func StableHostKey(seed string) ssh.Signer {
	digest := sha256.Sum256([]byte("sshhost host key\x00" + seed))
	signer, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(digest[:]))
	if err != nil {
		// ssh supports ed25519 keys; failing here is a programming error.
		panic(fmt.Sprintf("sshhost: host key from seed: %v", err))
	}
	return signer
}
