package sshhost

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// serveSFTP serves the host's root as "/" on channel until the client ends the session.
// conn is the connection the session came on, closed when a write is to be dropped.
func (h *Host) serveSFTP(channel ssh.Channel, conn io.Closer) error {
	// Opened per session, so a server rebuilt (its directory replaced) serves the new one.
	if err := os.MkdirAll(h.root, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(h.root)
	if err != nil {
		return err
	}
	defer root.Close()
	files := &rootFiles{
		root:     root,
		pending:  make(map[string][]pendingOpen),
		byID:     make(map[uint32]*os.File),
		byHandle: make(map[string]*os.File),
		drop:     h.drop,
		conn:     conn,
	}
	stream := newSFTPStream(channel, files)
	server := sftp.NewRequestServer(stream, sftp.Handlers{
		FileGet:  files,
		FilePut:  files,
		FileCmd:  files,
		FileList: files,
	})
	go stream.relayClient()
	err = server.Serve()
	server.Close()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// pendingOpen is an open request seen on the wire whose handler has not run yet. pkg/sftp does
// not pass the open's attributes to handlers, so the requested mode travels this way.
type pendingOpen struct {
	id      uint32
	mode    os.FileMode
	hasMode bool
}

// rootFiles implements pkg/sftp's request handlers on an os.Root, which refuses any path or
// symbolic link leading outside it.
type rootFiles struct {
	root *os.Root

	mu       sync.Mutex
	pending  map[string][]pendingOpen // by cleaned SFTP path
	byID     map[uint32]*os.File      // opened, handle not yet sent
	byHandle map[string]*os.File      // for fsync@openssh.com

	drop func(path string, size int64) bool // Config.DropWrite
	conn io.Closer
}

var (
	_ sftp.OpenFileWriter       = (*rootFiles)(nil)
	_ sftp.FileReader           = (*rootFiles)(nil)
	_ sftp.PosixRenameFileCmder = (*rootFiles)(nil)
	_ sftp.StatVFSFileCmder     = (*rootFiles)(nil)
	_ sftp.LstatFileLister      = (*rootFiles)(nil)
	_ sftp.ReadlinkFileLister   = (*rootFiles)(nil)
)

// rootRelative turns an SFTP path (absolute, cleaned by pkg/sftp) into a name within the root.
func rootRelative(p string) string {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		return "."
	}
	return rel
}

func (f *rootFiles) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return f.open(r)
}

func (f *rootFiles) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return f.open(r)
}

func (f *rootFiles) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return f.open(r)
}

// openFile is an open file; with O_APPEND semantics every write goes to the end, as SFTP's
// append flag asks (os.File.WriteAt refuses files opened with O_APPEND).
type openFile struct {
	*os.File
	append bool
	// path is the SFTP path, files the session's handlers (for DropWrite).
	path  string
	files *rootFiles
}

func (o openFile) WriteAt(b []byte, off int64) (int, error) {
	if f := o.files; f != nil && f.drop != nil && f.drop(o.path, off+int64(len(b))) {
		f.conn.Close()
		return 0, errors.New("connection dropped")
	}
	if o.append {
		return o.File.Write(b)
	}
	return o.File.WriteAt(b, off)
}

func (f *rootFiles) open(r *sftp.Request) (openFile, error) {
	pflags := r.Pflags()
	pending, found := f.takePending(r.Filepath)
	var flag int
	switch {
	case pflags.Read && (pflags.Write || pflags.Append):
		flag = os.O_RDWR
	case pflags.Write || pflags.Append:
		flag = os.O_WRONLY
	default:
		flag = os.O_RDONLY
	}
	if pflags.Append {
		flag |= os.O_APPEND
	}
	if pflags.Creat {
		flag |= os.O_CREATE
	}
	if pflags.Trunc {
		flag |= os.O_TRUNC
	}
	if pflags.Excl {
		flag |= os.O_EXCL
	}
	// As OpenSSH's sftp-server: the requested permissions, else 0666, both under the umask.
	mode := os.FileMode(0o666)
	if pending.hasMode {
		mode = pending.mode
	}
	file, err := f.root.OpenFile(rootRelative(r.Filepath), flag, mode)
	if err != nil {
		return openFile{}, err
	}
	if found {
		f.mu.Lock()
		f.byID[pending.id] = file
		f.mu.Unlock()
	}
	return openFile{File: file, append: pflags.Append, path: r.Filepath, files: f}, nil
}

func (f *rootFiles) takePending(p string) (pendingOpen, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	queue := f.pending[p]
	if len(queue) == 0 {
		return pendingOpen{}, false
	}
	first := queue[0]
	if len(queue) == 1 {
		delete(f.pending, p)
	} else {
		f.pending[p] = queue[1:]
	}
	return first, true
}

func (f *rootFiles) Filecmd(r *sftp.Request) error {
	name := rootRelative(r.Filepath)
	switch r.Method {
	case "Setstat":
		return f.setstat(name, r.AttrFlags(), r.Attributes())
	case "Rename":
		// SFTP's plain rename never replaces an existing target.
		if _, err := f.root.Lstat(rootRelative(r.Target)); err == nil {
			return &os.LinkError{Op: "rename", Old: r.Filepath, New: r.Target, Err: fs.ErrExist}
		}
		return f.root.Rename(name, rootRelative(r.Target))
	case "Rmdir":
		info, err := f.root.Lstat(name)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return &os.PathError{Op: "rmdir", Path: r.Filepath, Err: syscall.ENOTDIR}
		}
		return f.root.Remove(name)
	case "Remove":
		info, err := f.root.Lstat(name)
		if err != nil {
			return err
		}
		if info.IsDir() {
			return &os.PathError{Op: "remove", Path: r.Filepath, Err: syscall.EISDIR}
		}
		return f.root.Remove(name)
	case "Mkdir":
		return f.root.Mkdir(name, 0o777)
	case "Link":
		return f.root.Link(name, rootRelative(r.Target))
	case "Symlink":
		// pkg/sftp passes the link's target text as Filepath and the new link as Target.
		if err := checkSymlinkTarget(r.Target, r.Filepath); err != nil {
			return err
		}
		return f.root.Symlink(r.Filepath, rootRelative(r.Target))
	}
	return fmt.Errorf("%s: %w", r.Method, sftp.ErrSSHFxOpUnsupported)
}

// checkSymlinkTarget refuses links that are absolute or climb out of the root: inside the root
// they could never be followed.
func checkSymlinkTarget(link, target string) error {
	if path.IsAbs(target) {
		return &os.LinkError{Op: "symlink", Old: target, New: link, Err: fmt.Errorf("absolute symlink targets are not allowed: %w", fs.ErrPermission)}
	}
	resolved := path.Join(rootRelative(path.Dir(link)), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return &os.LinkError{Op: "symlink", Old: target, New: link, Err: fmt.Errorf("target outside the root: %w", fs.ErrPermission)}
	}
	return nil
}

// setstat applies attributes in the order that keeps them all: size, mode, owner, then times,
// which the others would otherwise touch.
func (f *rootFiles) setstat(name string, flags sftp.FileAttrFlags, attrs *sftp.FileStat) error {
	if flags.Size {
		file, err := f.root.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = file.Truncate(int64(attrs.Size))
		if closeErr := file.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := f.root.Chmod(name, fileMode(attrs.Mode)); err != nil {
			return err
		}
	}
	if flags.UidGid {
		uid, gid := localOwner(attrs.UID, attrs.GID)
		if err := f.root.Chown(name, uid, gid); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := f.root.Chtimes(name, time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0)); err != nil {
			return err
		}
	}
	return nil
}

// fileMode converts POSIX permission bits to an os.FileMode.
func fileMode(mode uint32) os.FileMode {
	m := os.FileMode(mode & 0o777)
	if mode&syscall.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if mode&syscall.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if mode&syscall.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// PosixRename is posix-rename@openssh.com: rename(2), atomically replacing an existing target.
func (f *rootFiles) PosixRename(r *sftp.Request) error {
	return f.root.Rename(rootRelative(r.Filepath), rootRelative(r.Target))
}

func (f *rootFiles) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	dir, err := f.root.Open(rootRelative(r.Filepath))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(dir.Fd()), &st); err != nil {
		return nil, &os.PathError{Op: "statvfs", Path: r.Filepath, Err: err}
	}
	frsize, namemax := statfsSizes(&st)
	return &sftp.StatVFS{
		Bsize:   uint64(st.Bsize),
		Frsize:  frsize,
		Blocks:  st.Blocks,
		Bfree:   st.Bfree,
		Bavail:  st.Bavail,
		Files:   st.Files,
		Ffree:   st.Ffree,
		Favail:  st.Ffree,
		Namemax: namemax,
	}, nil
}

func (f *rootFiles) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	name := rootRelative(r.Filepath)
	switch r.Method {
	case "List":
		dir, err := f.root.Open(name)
		if err != nil {
			return nil, err
		}
		defer dir.Close()
		entries, err := dir.Readdir(-1)
		if err != nil {
			return nil, err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for i, e := range entries {
			entries[i] = asServerSees(e)
		}
		return fileInfos(entries), nil
	case "Stat":
		info, err := f.root.Stat(name)
		if err != nil {
			return nil, err
		}
		return fileInfos{asServerSees(info)}, nil
	}
	return nil, fmt.Errorf("%s: %w", r.Method, sftp.ErrSSHFxOpUnsupported)
}

func (f *rootFiles) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	info, err := f.root.Lstat(rootRelative(r.Filepath))
	if err != nil {
		return nil, err
	}
	return fileInfos{asServerSees(info)}, nil
}

func (f *rootFiles) Readlink(p string) (string, error) {
	return f.root.Readlink(rootRelative(p))
}

// fileInfos is a directory listing or a single stat result.
type fileInfos []os.FileInfo

func (l fileInfos) ListAt(dst []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[offset:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}
