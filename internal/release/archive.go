// Package release builds fleetctl's release artifacts reproducibly: the same
// commit gives byte-identical archives and checksums on any machine with the
// same Go. Archives are written here rather than by tar and gzip, whose
// output differs between their versions and platforms.
package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Member is one file of an archive.
type Member struct {
	Name string // name in the archive
	Path string // file to read
	Mode int64  // 0o755 for programs, 0o644 for documents
}

// WriteArchive writes a .tar.gz holding members, in name order, with every
// entry owned by root (uid and gid 0, no user names) and stamped with mtime:
// nothing of the machine or the moment of the build gets in.
func WriteArchive(path string, members []Member, mtime time.Time) (err error) {
	members = append([]Member(nil), members...)
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The gzip header keeps no name and no time.
	tw := tar.NewWriter(zw)
	for _, m := range members {
		if err := addFile(tw, m, mtime.UTC()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func addFile(tw *tar.Writer, m Member, mtime time.Time) error {
	src, err := os.Open(m.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: m.Name, Mode: m.Mode, Size: info.Size(),
		ModTime: mtime, Format: tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// WriteChecksums writes checksums.txt in sha256sum's format ("HEX  NAME",
// sorted by name) for the named files of dir, so that
// `sha256sum -c checksums.txt` verifies a download.
func WriteChecksums(dir string, names []string) error {
	names = append([]string(nil), names...)
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		sum, err := FileSHA256(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return os.WriteFile(filepath.Join(dir, ChecksumsFile), []byte(b.String()), 0o644)
}

// ChecksumsFile is the name of the checksums in a release.
const ChecksumsFile = "checksums.txt"

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
