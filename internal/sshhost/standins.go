package sshhost

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// standIns is a host's directory of stand-in commands, outside its root so SFTP cannot touch
// them, and the log they append their calls to.
type standIns struct {
	dir     string
	logPath string

	mu      sync.Mutex
	offset  int64  // bytes of the log already turned into calls
	pending []byte // an incomplete record at the end of the log
}

// installStandIns writes the stand-ins into a new temporary directory outside root.
func installStandIns(root string) (*standIns, error) {
	dir, err := os.MkdirTemp("", "sshhost-bin-")
	if err != nil {
		return nil, fmt.Errorf("stand-ins: %w", err)
	}
	if within(dir, root) {
		os.RemoveAll(dir)
		if dir, err = os.MkdirTemp(filepath.Dir(root), ".sshhost-bin-"); err != nil {
			return nil, fmt.Errorf("stand-ins: %w", err)
		}
	}
	s := &standIns{dir: dir, logPath: filepath.Join(dir, "calls.log")}
	if err := os.WriteFile(s.logPath, nil, 0o600); err != nil {
		s.remove()
		return nil, fmt.Errorf("stand-ins: %w", err)
	}
	for name, body := range standInBodies {
		script := "#!/bin/sh\n" +
			"# Stand-in for " + name + " on a simulated server: records the call, then answers as a healthy host.\n" +
			"printf '%s\\0' \"$(date +%s%N 2>/dev/null)\" " + name + " \"$#\" \"$@\" >>" + shellQuote(s.logPath) + "\n" +
			body
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			s.remove()
			return nil, fmt.Errorf("stand-ins: %w", err)
		}
	}
	return s, nil
}

func (s *standIns) remove() { os.RemoveAll(s.dir) }

// rotateLogSize is the size past which the stand-ins' log starts afresh, so a busy host does
// not fill the disk.
const rotateLogSize = 1 << 20

// collect turns the records the stand-ins appended since the last call into "stub" calls.
// Each record is NUL-terminated fields: time in nanoseconds, name, argument count, arguments.
func (s *standIns) collect(log *callLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read(log, s.logPath)
	if s.offset < rotateLogSize {
		return
	}
	// Stand-ins open the log by name for every record: after the rename they write a new one,
	// and the records that raced the rename are read from the old one.
	old := s.logPath + ".old"
	if err := os.Rename(s.logPath, old); err != nil {
		return
	}
	s.read(log, old)
	os.Remove(old)
	s.offset, s.pending = 0, nil
}

func (s *standIns) read(log *callLog, name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	fresh, err := io.ReadAll(io.NewSectionReader(f, s.offset, 1<<40))
	if err != nil || len(fresh) == 0 {
		return
	}
	s.offset += int64(len(fresh))
	data := append(s.pending, fresh...)
	for {
		call, n, ok := parseStubRecord(data)
		if n == 0 {
			break
		}
		if ok {
			log.add(call)
		}
		data = data[n:]
	}
	s.pending = append([]byte(nil), data...)
}

// parseStubRecord parses the record at the start of data and returns its length, 0 while the
// record is incomplete. ok is false for a malformed record, which is skipped.
func parseStubRecord(data []byte) (Call, int, bool) {
	var fields []string
	used := 0
	next := func() (string, bool) {
		i := bytes.IndexByte(data[used:], 0)
		if i < 0 {
			return "", false
		}
		field := string(data[used : used+i])
		used += i + 1
		return field, true
	}
	for range 3 {
		field, ok := next()
		if !ok {
			return Call{}, 0, false
		}
		fields = append(fields, field)
	}
	argc, err := strconv.Atoi(fields[2])
	if err != nil || argc < 0 {
		// Not a record the stand-ins write; skip it so one bad write cannot stall the log.
		return Call{}, used, false
	}
	args := make([]string, 0, argc)
	for range argc {
		arg, ok := next()
		if !ok {
			return Call{}, 0, false
		}
		args = append(args, arg)
	}
	when := time.Now().UTC()
	if ns, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
		when = time.Unix(0, ns).UTC()
	}
	if len(args) == 0 {
		args = nil
	}
	return Call{Time: when, Kind: "stub", Command: fields[1], Args: args}, used, true
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// standInBodies answer like the real commands on a healthy, fully booted server with
// gitlab-runner installed.
var standInBodies = map[string]string{
	"systemctl": `quiet=
verb=
for arg in "$@"; do
	case "$arg" in
	-q|--quiet) quiet=1 ;;
	-*) ;;
	*) if [ -z "$verb" ]; then verb=$arg; fi ;;
	esac
done
units=0
for arg in "$@"; do
	case "$arg" in -*|"$verb") ;; *) units=$((units + 1)) ;; esac
done
[ "$units" -gt 0 ] || units=1
say() {
	[ -n "$quiet" ] && return 0
	i=0
	while [ "$i" -lt "$units" ]; do echo "$1"; i=$((i + 1)); done
}
case "$verb" in
is-active) say active ;;
is-enabled) say enabled ;;
is-failed) say active; exit 1 ;;
is-system-running) say running ;;
status)
	for arg in "$@"; do
		case "$arg" in -*|status) ;; *) printf '%s\n' "* $arg - stand-in" "     Loaded: loaded" "     Active: active (running)" ;; esac
	done
	;;
esac
exit 0
`,
	"cloud-init": `case "$1" in
status)
	echo "status: done"
	for arg in "$@"; do
		case "$arg" in
		--long|-l)
			echo "extended_status: done"
			echo "boot_status_code: enabled-by-generator"
			echo "detail: DataSourceHetzner"
			echo "errors: []"
			echo "recoverable_errors: {}"
			;;
		esac
	done
	;;
--version|-v) echo "/usr/bin/cloud-init 24.4.1-0ubuntu0~24.04.1" ;;
esac
exit 0
`,
	"gitlab-runner": `case "$1" in
--version|-v|-version|version)
	case "$(uname -m)" in
	aarch64|arm64) arch=arm64 ;;
	*) arch=amd64 ;;
	esac
	echo "Version:      17.11.0"
	echo "Git revision: 0f67ff19"
	echo "Git branch:   17-11-stable"
	echo "GO version:   go1.23.6 X:cacheprog"
	echo "Built:        2025-04-17T15:13:27Z"
	echo "OS/Arch:      linux/$arch"
	;;
esac
exit 0
`,
}
