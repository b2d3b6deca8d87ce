package hcloudsim

import (
	"net/http"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
	"golang.org/x/crypto/ssh"
)

type sshKey struct {
	id          int64
	name        string
	fingerprint string
	publicKey   string
	parsed      ssh.PublicKey
	labels      map[string]string
	created     time.Time
}

func (k *sshKey) schema() schema.SSHKey {
	return schema.SSHKey{ID: k.id, Name: k.name, Fingerprint: k.fingerprint, PublicKey: k.publicKey,
		Labels: cloneLabels(k.labels), Created: k.created}
}

func (s *Sim) listSSHKeys(w http.ResponseWriter, r *http.Request) {
	f, e := parseListFilter(r)
	if e != nil {
		writeError(w, e)
		return
	}
	fp, hasFP := r.URL.Query()["fingerprint"]
	s.mu.Lock()
	var rows []row
	for _, k := range s.st.sshKeys {
		if !f.match(k.name, k.labels) || (hasFP && k.fingerprint != fp[0]) {
			continue
		}
		rows = append(rows, row{id: k.id, name: k.name, created: k.created, render: func() any { return k.schema() }})
	}
	defer s.mu.Unlock()
	s.writeList(w, r, "ssh_keys", rows, listSpec{sortFields: []string{"id", "name"}})
}

func (s *Sim) sshKeyFromPath(w http.ResponseWriter, r *http.Request) *sshKey {
	id, ok := pathID(w, r, "id")
	if !ok {
		return nil
	}
	k := s.st.sshKeys[id]
	if k == nil {
		writeError(w, errNotFound("ssh_key"))
	}
	return k
}

func (s *Sim) getSSHKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.sshKeyFromPath(w, r); k != nil {
		writeJSON(w, 200, schema.SSHKeyGetResponse{SSHKey: k.schema()})
	}
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
	if len(fields) > 0 {
		writeError(w, errInvalid(fields...))
		return
	}
	var labels map[string]string
	if req.Labels != nil {
		labels = *req.Labels
		if e := checkLabels(labels); e != nil {
			writeError(w, e)
			return
		}
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.st.sshKeys {
		if k.name == req.Name {
			writeError(w, errUnique("name", "SSH key with the same name already exists"))
			return
		}
		if k.fingerprint == fp {
			writeError(w, errUnique("public_key", "SSH key with the same fingerprint already exists"))
			return
		}
	}
	k := &sshKey{id: s.st.nextID("ssh_key"), name: req.Name, fingerprint: fp,
		publicKey: strings.TrimSpace(req.PublicKey), parsed: pub, labels: cloneLabels(labels), created: now()}
	s.st.sshKeys[k.id] = k
	writeJSON(w, 201, schema.SSHKeyCreateResponse{SSHKey: k.schema()})
}

func (s *Sim) updateSSHKey(w http.ResponseWriter, r *http.Request) {
	var req schema.SSHKeyUpdateRequest
	if e := decode(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Name != "" {
		if e := checkName(req.Name); e != nil {
			writeError(w, e)
			return
		}
	}
	if req.Labels != nil {
		if e := checkLabels(*req.Labels); e != nil {
			writeError(w, e)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.sshKeyFromPath(w, r)
	if k == nil {
		return
	}
	if req.Name != "" && req.Name != k.name {
		for _, o := range s.st.sshKeys {
			if o.name == req.Name {
				writeError(w, errUnique("name", "SSH key with the same name already exists"))
				return
			}
		}
		k.name = req.Name
	}
	if req.Labels != nil {
		k.labels = cloneLabels(*req.Labels)
	}
	writeJSON(w, 200, schema.SSHKeyUpdateResponse{SSHKey: k.schema()})
}

func (s *Sim) deleteSSHKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.sshKeyFromPath(w, r)
	if k == nil {
		return
	}
	delete(s.st.sshKeys, k.id)
	w.WriteHeader(http.StatusNoContent)
}
