package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/crypto/ssh"
)

// CheckPublicKeyFiles reads the public_key_file of every SSH key, as plan
// will, and reports at the field's position what plan would refuse: a file
// that is not one OpenSSH public key (a private key, two keys, anything
// else, not a regular file), or the same key as another entry (Hetzner
// takes each public key once per project). A file that does not exist
// here is a warning only: validate may run where the key is not, and plan,
// run where it is, reads it again. Validate stays free of I/O; this is the
// validate command's extra look at the machine it runs on.
func (f *Fleet) CheckPublicKeyFiles() (problems, warnings []Problem) {
	at := func(path, format string, args ...any) Problem {
		return Problem{File: f.Source, Pos: f.Pos(path), Path: path, Message: fmt.Sprintf(format, args...)}
	}
	seen := map[string]string{} // key material → the field that declared it
	for i, k := range f.SSHKeys {
		field := fmt.Sprintf("ssh_keys[%d].public_key_file", i)
		text := k.PublicKey
		if k.PublicKey == "" {
			if k.PublicKeyFile == "" {
				continue // Validate reports it.
			}
			value, err := k.PublicKeyValue()
			switch {
			case errors.Is(err, fs.ErrNotExist):
				w := at(field, "%s does not exist here: plan and apply read it, so run them where it does", k.PublicKeyFile)
				w.Warning = true
				warnings = append(warnings, w)
				continue
			case err != nil:
				// PublicKeyValue names the key first; the position
				// already does.
				msg := strings.TrimPrefix(err.Error(), "ssh key "+k.Name+": ")
				problems = append(problems, at(field, "%s", msg))
				continue
			}
			text = value
		} else {
			field = fmt.Sprintf("ssh_keys[%d].public_key", i)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
		if err != nil {
			continue // Validate reports a bad literal key.
		}
		material := string(pub.Marshal())
		// Two literal keys are Validate's to report.
		if other, dup := seen[material]; dup && (k.PublicKeyFile != "" || strings.HasSuffix(other, ".public_key_file")) {
			problems = append(problems, at(field, "the same key as %s: Hetzner accepts each public key once per project; declare it once", other))
		}
		seen[material] = field
	}
	return problems, warnings
}
