package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// BinaryDigestRecord is where Apply records the SHA-256 of the plugin binary
// it pushed, with the binary's size and mtime, so that plan need not read
// the binary (tens of megabytes) over SFTP to compare it. Its first line is
// in sha256sum's format: `sha256sum -c` on the manager checks the binary.
const BinaryDigestRecord = "/var/lib/fleetctl/fleetctl.sha256"

// digestRecord is what BinaryDigestRecord holds.
type digestRecord struct {
	SHA256 string
	Path   string
	Size   int64
	// MTime is the file's modification time in Unix seconds (SFTP knows
	// no finer time).
	MTime int64
}

// pendingDigestRecord is written over the record before the file it
// describes is replaced: an apply killed in between leaves no record that
// could vouch for a file it does not describe.
const pendingDigestRecord = "# the file is being replaced: no digest recorded\n"

func (r digestRecord) marshal() []byte {
	return fmt.Appendf(nil, "%s  %s\n# size=%d mtime=%d\n", r.SHA256, r.Path, r.Size, r.MTime)
}

// parseDigestRecord reads a record; anything else (a pending record, a
// damaged file) is an error, upon which the file is read whole.
func parseDigestRecord(b []byte) (digestRecord, error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		return digestRecord{}, errors.New("not a digest record")
	}
	var r digestRecord
	sum, path, ok := strings.Cut(lines[0], "  ")
	if !ok || len(sum) != sha256.Size*2 || !strings.HasPrefix(path, "/") {
		return digestRecord{}, errors.New("not a digest record: no digest line")
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return digestRecord{}, errors.New("not a digest record: digest is not hex")
	}
	r.SHA256, r.Path = sum, path
	attrs, ok := strings.CutPrefix(lines[1], "# ")
	if !ok {
		return digestRecord{}, errors.New("not a digest record: no attribute line")
	}
	var seen int
	for _, field := range strings.Fields(attrs) {
		k, v, _ := strings.Cut(field, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return digestRecord{}, fmt.Errorf("not a digest record: %s: %w", k, err)
		}
		switch k {
		case "size":
			r.Size, seen = n, seen|1
		case "mtime":
			r.MTime, seen = n, seen|2
		}
	}
	if seen != 3 {
		return digestRecord{}, errors.New("not a digest record: size or mtime missing")
	}
	return r, nil
}

// readRecordedDigest compares the file f with its digest record by size and
// mtime only, as rsync's quick check does. It reports ok when that settles
// it: the file is absent, or its size and mtime are the recorded ones (then
// the recorded digest is the file's). Otherwise — no record, a record of
// other attributes (the file was replaced behind fleetctl's back) — the
// caller reads the file whole.
func readRecordedDigest(ctx context.Context, files Files, f DesiredFile) (lf LiveFile, ok bool, err error) {
	info, err := files.Stat(ctx, f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return LiveFile{}, true, nil
	}
	if err != nil {
		return LiveFile{}, false, fmt.Errorf("stat %s: %w", f.Path, err)
	}
	if !info.Mode().IsRegular() {
		return LiveFile{}, false, nil
	}
	raw, _, err := files.ReadFile(ctx, f.DigestRecord, maxRecordSize)
	if err != nil {
		return LiveFile{}, false, nil
	}
	rec, err := parseDigestRecord(raw)
	if err != nil || rec.Path != f.Path || rec.Size != info.Size() || rec.MTime != info.ModTime().Unix() {
		return LiveFile{}, false, nil
	}
	return LiveFile{Exists: true, Mode: info.Mode() &^ fs.ModeType, Owner: ownerOf(info), Digest: rec.SHA256, Recorded: true}, true, nil
}

// writeWithDigestRecord writes a file compared by digest and records its
// digest, size and mtime, in an order that keeps the record truthful at
// every point an apply can be killed: the old record is voided first, the
// record written last.
func writeWithDigestRecord(ctx context.Context, files Files, f DesiredFile) error {
	data, err := f.readContent()
	if err != nil {
		return err
	}
	if err := writeRecord(ctx, files, f.DigestRecord, []byte(pendingDigestRecord)); err != nil {
		return fmt.Errorf("void digest record: %w", err)
	}
	if err := files.WriteFile(ctx, f.Path, data, f.Mode); err != nil {
		return err
	}
	return recordDigest(ctx, files, f)
}

// recordDigest writes the digest record of f, which holds f's content.
//
// The file's mtime is first set one second back. SFTP carries whole
// seconds, so without that a replacement within the same second (same
// size, other content) would match the record; every later write gets an
// mtime of at least the current second, which the record never holds.
// (Git's index faces the same "racily clean" problem.)
func recordDigest(ctx context.Context, files Files, f DesiredFile) error {
	info, err := files.Stat(ctx, f.Path)
	if err != nil {
		return fmt.Errorf("digest record: %w", err)
	}
	if info.Size() != f.ContentSize() {
		return fmt.Errorf("digest record: %s has %d bytes, not the %d written", f.Path, info.Size(), f.ContentSize())
	}
	mtime := info.ModTime().Truncate(time.Second).Add(-time.Second)
	if err := files.Chtimes(ctx, f.Path, mtime); err != nil {
		return fmt.Errorf("digest record: %w", err)
	}
	rec := digestRecord{SHA256: f.SHA256(), Path: f.Path, Size: info.Size(), MTime: mtime.Unix()}
	if err := writeRecord(ctx, files, f.DigestRecord, rec.marshal()); err != nil {
		return fmt.Errorf("digest record: %w", err)
	}
	return nil
}

// writeRecord writes one of fleetctl's own records on the manager (a
// digest record, the restart marker), root's and 0600. A directory put
// where the record belongs is cleared out of the way first (see
// clearDirectory), so that a hostile or unlucky manager cannot make every
// apply fail.
func writeRecord(ctx context.Context, files Files, path string, data []byte) error {
	err := files.WriteFile(ctx, path, data, 0o600)
	if err == nil {
		return nil
	}
	info, serr := files.Stat(ctx, path)
	if serr != nil || !info.IsDir() {
		return err
	}
	if _, cerr := clearDirectory(ctx, files, path, time.Now()); cerr != nil {
		return cerr
	}
	return files.WriteFile(ctx, path, data, 0o600)
}
