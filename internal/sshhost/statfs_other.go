//go:build !linux

package sshhost

import "syscall"

// statfsSizes are the fragment size and the longest file name of a file
// system. BSD's statfs (macOS) has neither: fragments are blocks there, and
// names are at most 255 bytes on its file systems.
func statfsSizes(st *syscall.Statfs_t) (frsize, namemax uint64) {
	return uint64(st.Bsize), 255
}
