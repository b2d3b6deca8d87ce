package sshhost

import (
	"os"
	"syscall"
)

// The simulated server's root user is the user the simulator runs as: files
// it owns are reported as owned by uid 0 and gid 0 over SFTP, and a chown to
// 0 gives them back to it. Run as root (as tests and CI do), that is the
// identity; any other numeric owner is reported and set as it is, so a file
// chowned by hand shows as the drift it is.
var (
	hostUID = uint32(os.Getuid())
	hostGID = uint32(os.Getgid())
)

// ownedInfo is a FileInfo with its owner as the simulated server sees it;
// pkg/sftp sends Uid and Gid in its attributes.
type ownedInfo struct {
	os.FileInfo
	uid, gid uint32
}

func (o ownedInfo) Uid() uint32 { return o.uid }
func (o ownedInfo) Gid() uint32 { return o.gid }

// asServerSees maps a local file's owner to the simulated server's.
func asServerSees(info os.FileInfo) os.FileInfo {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return info
	}
	uid, gid := st.Uid, st.Gid
	if uid == hostUID {
		uid = 0
	}
	if gid == hostGID {
		gid = 0
	}
	return ownedInfo{FileInfo: info, uid: uid, gid: gid}
}

// localOwner maps an owner the simulated server is asked to set to the
// local one.
func localOwner(uid, gid uint32) (int, int) {
	if uid == 0 {
		uid = hostUID
	}
	if gid == 0 {
		gid = hostGID
	}
	return int(uid), int(gid)
}
