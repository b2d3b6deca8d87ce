package plugin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/spec"
)

// loadOrCreateKey returns the instances' private key (PEM) kept at path,
// generating an ed25519 key and writing it with mode 0600 when the file does
// not exist. The key outlives the plugin process on purpose: instances are
// created with its public half in authorized_keys, so a restarted plugin
// must present the same key to reach the instances it adopts.
func loadOrCreateKey(path string) (pemBytes []byte, created bool, err error) {
	b, err := spec.ReadLocalFile(path, 64<<10)
	switch {
	case err == nil:
		if _, err := ssh.ParsePrivateKey(b); err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return b, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("key file %s: %w", path, err)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("key file %s: generate: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "fleetctl instances")
	if err != nil {
		return nil, false, fmt.Errorf("key file %s: encode: %w", path, err)
	}
	pemBytes = pem.EncodeToMemory(block)
	if err := writeFileAtomic(path, pemBytes, 0o600); err != nil {
		return nil, false, fmt.Errorf("key file: %w (set key_file in plugin_config to a writable path)", err)
	}
	return pemBytes, true, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so that a crash never leaves a truncated key behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// authorizedKey returns the public half of a PEM private key in
// authorized_keys format, and its MD5 fingerprint as Hetzner shows it.
func authorizedKey(pemBytes []byte) (pub, fingerprint string, err error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return "", "", err
	}
	pk := signer.PublicKey()
	return string(ssh.MarshalAuthorizedKey(pk)), ssh.FingerprintLegacyMD5(pk), nil
}

// uploadKey makes sure the public key is in the project and returns the
// Hetzner key to create instances with. owned says whether the plugin
// uploaded it (and so removes it at shutdown).
//
//   - A key with the same fingerprint is used as it is, whatever its name
//     (Hetzner refuses a second upload of the same key).
//   - A key named like ours with our labels but another fingerprint is stale
//     (an earlier key file): it is replaced.
//   - A key named like ours without our labels belongs to someone else: error.
func (g *InstanceGroup) uploadKey(ctx context.Context, pub, fingerprint string) (*hcloud.SSHKey, bool, error) {
	name := g.cfg.name
	if k, _, err := g.client.SSHKey.GetByFingerprint(ctx, fingerprint); err != nil {
		return nil, false, fmt.Errorf("ssh key %s: look up by fingerprint: %w", name, err)
	} else if k != nil {
		g.log.Info("using ssh key already in the project", "name", k.Name, "fingerprint", fingerprint)
		return k, g.cfg.ownedBy(k.Labels), nil
	}
	if k, _, err := g.client.SSHKey.GetByName(ctx, name); err != nil {
		return nil, false, fmt.Errorf("ssh key %s: look up by name: %w", name, err)
	} else if k != nil {
		if !g.cfg.ownedBy(k.Labels) {
			return nil, false, fmt.Errorf("ssh key %s: a key of that name exists without the labels %s; it is not fleetctl's to replace: rename autoscaler.instances.name or remove the key", name, g.cfg.selector())
		}
		g.log.Warn("replacing stale ssh key", "name", name, "old_fingerprint", k.Fingerprint, "fingerprint", fingerprint)
		if _, err := g.client.SSHKey.Delete(ctx, k); err != nil && !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
			return nil, false, fmt.Errorf("ssh key %s: delete stale key: %w", name, err)
		}
	}
	k, _, err := g.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: name, PublicKey: pub, Labels: g.cfg.labels})
	if err != nil {
		return nil, false, fmt.Errorf("ssh key %s: upload: %w", name, err)
	}
	g.log.Info("uploaded ssh key", "name", name, "fingerprint", fingerprint)
	return k, true, nil
}
