package hcloudsim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
	"golang.org/x/crypto/ssh"
)

type sshKey struct {
	resource
	fingerprint string
	publicKey   string
	parsed      ssh.PublicKey
}

func (k *sshKey) schema() schema.SSHKey {
	return schema.SSHKey{ID: k.id, Name: k.name, Fingerprint: k.fingerprint, PublicKey: k.publicKey,
		Labels: cloneLabels(k.labels), Created: k.created}
}

var sshKeyKind = kind[*sshKey]{key: "ssh_key", items: func(st *state) map[int64]*sshKey { return st.sshKeys },
	json: func(_ *Sim, k *sshKey) any { return k.schema() }, sortFields: []string{"id", "name"}, nameTaken: "SSH key with the same name already exists"}

// sshKeyFingerprint filters SSH keys by fingerprint=.
func sshKeyFingerprint(q url.Values) (func(*sshKey) bool, *apiError) {
	fp, hasFP := q["fingerprint"]
	return func(k *sshKey) bool { return !hasFP || k.fingerprint == fp[0] }, nil
}

func checkName(name string) *apiError {
	if name == "" {
		return errField("name", "is required")
	}
	if len(name) > 128 || strings.ContainsAny(name, "\t\n") {
		return errField("name", "must be at most 128 characters on one line")
	}
	return nil
}

// checkHostname checks a server name: a valid hostname as per RFC 1123.
func checkHostname(name string) *apiError {
	if name == "" {
		return errField("name", "is required")
	}
	if len(name) > 253 {
		return errField("name", "is too long")
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || !isAlnum(l[0]) || !isAlnum(l[len(l)-1]) {
			return errField("name", "must be a valid hostname")
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return errField("name", "must be a valid hostname")
			}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (s *Sim) createSSHKey(w http.ResponseWriter, r *http.Request) {
	var req schema.SSHKeyCreateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	var fields []fieldError
	if e := checkName(req.Name); e != nil {
		fields = append(fields, fieldError{Name: "name", Messages: []string{"is required and must be at most 128 characters on one line"}})
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		fields = append(fields, fieldError{Name: "public_key", Messages: []string{"is not a valid SSH public key"}})
	}
	if !admitCreate(w, fields, req.Labels) {
		return
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := sshKeyKind.nameFree(s, req.Name); e != nil {
		writeError(w, e)
		return
	}
	for _, k := range s.st.sshKeys {
		if k.fingerprint == fp {
			writeError(w, errUnique("public_key", "SSH key with the same fingerprint already exists"))
			return
		}
	}
	k := &sshKey{resource: resource{id: s.st.nextID("ssh_key"), name: req.Name, labels: givenLabels(req.Labels), created: now()},
		fingerprint: fp, publicKey: strings.TrimSpace(req.PublicKey), parsed: pub}
	s.st.sshKeys[k.id] = k
	writeJSON(w, 201, schema.SSHKeyCreateResponse{SSHKey: k.schema()})
}

func (s *Sim) routesSSHKeys() {
	s.handle("GET /v1/ssh_keys", sshKeyKind.list(s, sshKeyFingerprint))
	s.handle("POST /v1/ssh_keys", s.createSSHKey)
	s.handle("GET /v1/ssh_keys/{id}", sshKeyKind.get(s))
	s.handle("PUT /v1/ssh_keys/{id}", update(s, sshKeyKind,
		func(req *schema.SSHKeyUpdateRequest) *apiError {
			if req.Name != "" {
				if e := checkName(req.Name); e != nil {
					return e
				}
			}
			return checkLabels(req.Labels)
		},
		func(k *sshKey, req *schema.SSHKeyUpdateRequest) *apiError {
			return sshKeyKind.rename(s, k, req.Name, req.Labels)
		}))
	s.handle("DELETE /v1/ssh_keys/{id}", sshKeyKind.remove(s, nil))
}
