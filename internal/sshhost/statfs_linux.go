package sshhost

import "syscall"

// statfsSizes are the fragment size and the longest file name of a file
// system, as statvfs reports them.
func statfsSizes(st *syscall.Statfs_t) (frsize, namemax uint64) {
	return uint64(st.Frsize), uint64(st.Namelen)
}
