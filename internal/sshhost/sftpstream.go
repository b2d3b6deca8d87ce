package sshhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"

	"golang.org/x/crypto/ssh"
)

// SFTP packet types and codes this file reads or writes (draft-ietf-secsh-filexfer-02).
const (
	fxpVersion  = 2
	fxpOpen     = 3
	fxpClose    = 4
	fxpStatus   = 101
	fxpHandle   = 102
	fxpExtended = 200

	fxOK          = 0
	fxFailure     = 4
	fxAttrSize    = 0x1
	fxAttrUIDGID  = 0x2
	fxAttrPerms   = 0x4
	maxPacketSize = 1 << 20

	extensionFsync = "fsync@openssh.com"
)

// sftpStream sits between the SSH channel and pkg/sftp's RequestServer and adds what that
// server lacks: it passes the mode requested on open to the handlers, and it implements and
// announces fsync@openssh.com, so a client can make an upload durable before renaming it.
type sftpStream struct {
	channel ssh.Channel
	files   *rootFiles

	toServer   *io.PipeReader
	fromClient *io.PipeWriter

	mu  sync.Mutex // serializes whole packets to the client
	out []byte     // server output not yet forming a whole packet
}

func newSFTPStream(channel ssh.Channel, files *rootFiles) *sftpStream {
	r, w := io.Pipe()
	return &sftpStream{channel: channel, files: files, toServer: r, fromClient: w}
}

// Read gives the RequestServer the client's packets, minus those handled here.
func (s *sftpStream) Read(p []byte) (int, error) { return s.toServer.Read(p) }

// Close ends both directions.
func (s *sftpStream) Close() error {
	s.toServer.Close()
	return s.channel.CloseWrite()
}

// relayClient copies packets from the client to the server until the client stops.
func (s *sftpStream) relayClient() {
	for {
		packet, err := readPacket(s.channel)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			s.fromClient.CloseWithError(err)
			return
		}
		if s.handleClientPacket(packet) {
			continue
		}
		if _, err := s.fromClient.Write(packet); err != nil {
			return
		}
	}
}

// handleClientPacket notes opens and closes and answers fsync; it reports whether the packet
// was answered here and must not reach the server.
func (s *sftpStream) handleClientPacket(packet []byte) bool {
	body := packet[5:]
	switch packet[4] {
	case fxpOpen:
		id, rest, ok := takeUint32(body)
		name, rest, ok2 := takeString(rest)
		_, rest, ok3 := takeUint32(rest) // pflags
		if !ok || !ok2 || !ok3 {
			return false
		}
		pending := pendingOpen{id: id}
		if mode, ok := requestedPermissions(rest); ok {
			pending.mode, pending.hasMode = fileMode(mode), true
		}
		cleaned := path.Clean(name)
		if !path.IsAbs(cleaned) {
			cleaned = path.Join("/", cleaned)
		}
		s.files.mu.Lock()
		s.files.pending[cleaned] = append(s.files.pending[cleaned], pending)
		s.files.mu.Unlock()
	case fxpClose:
		_, rest, ok := takeUint32(body)
		handle, _, ok2 := takeString(rest)
		if ok && ok2 {
			s.files.mu.Lock()
			delete(s.files.byHandle, handle)
			s.files.mu.Unlock()
		}
	case fxpExtended:
		id, rest, ok := takeUint32(body)
		name, rest, ok2 := takeString(rest)
		if !ok || !ok2 || name != extensionFsync {
			return false
		}
		handle, _, ok := takeString(rest)
		s.files.mu.Lock()
		file := s.files.byHandle[handle]
		s.files.mu.Unlock()
		switch {
		case !ok || file == nil:
			s.sendStatus(id, fxFailure, "fsync: not an open file handle")
		default:
			if err := file.Sync(); err != nil {
				s.sendStatus(id, fxFailure, fmt.Sprintf("fsync: %v", err))
			} else {
				s.sendStatus(id, fxOK, "")
			}
		}
		return true
	}
	return false
}

// requestedPermissions reads the permissions from an open request's attributes, if given.
func requestedPermissions(attrs []byte) (uint32, bool) {
	flags, rest, ok := takeUint32(attrs)
	if !ok || flags&fxAttrPerms == 0 {
		return 0, false
	}
	if flags&fxAttrSize != 0 {
		if len(rest) < 8 {
			return 0, false
		}
		rest = rest[8:]
	}
	if flags&fxAttrUIDGID != 0 {
		if len(rest) < 8 {
			return 0, false
		}
		rest = rest[8:]
	}
	mode, _, ok := takeUint32(rest)
	return mode, ok
}

// Write takes the server's output, which arrives in pieces, and passes it on packet by packet.
func (s *sftpStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, p...)
	for len(s.out) >= 4 {
		size := int(binary.BigEndian.Uint32(s.out))
		if len(s.out) < 4+size {
			break
		}
		packet := s.out[:4+size]
		if size > 0 {
			packet = s.inspectServerPacket(packet)
		}
		if _, err := s.channel.Write(packet); err != nil {
			return 0, err
		}
		s.out = s.out[4+size:]
	}
	if len(s.out) == 0 {
		s.out = nil
	}
	return len(p), nil
}

// inspectServerPacket announces fsync in the version packet and tracks which handle each open
// produced; it returns the packet to send.
func (s *sftpStream) inspectServerPacket(packet []byte) []byte {
	switch packet[4] {
	case fxpVersion:
		extended := append([]byte(nil), packet...)
		extended = appendString(extended, extensionFsync)
		extended = appendString(extended, "1")
		binary.BigEndian.PutUint32(extended, uint32(len(extended)-4))
		return extended
	case fxpHandle, fxpStatus:
		id, rest, ok := takeUint32(packet[5:])
		if !ok {
			return packet
		}
		s.files.mu.Lock()
		defer s.files.mu.Unlock()
		file := s.files.byID[id]
		delete(s.files.byID, id)
		if packet[4] == fxpHandle && file != nil {
			if handle, _, ok := takeString(rest); ok {
				s.files.byHandle[handle] = file
			}
		}
		if packet[4] == fxpStatus {
			// An open refused before its handler ran leaves its mode behind.
			for name, queue := range s.files.pending {
				for i, pending := range queue {
					if pending.id == id {
						s.files.pending[name] = append(queue[:i:i], queue[i+1:]...)
						if len(s.files.pending[name]) == 0 {
							delete(s.files.pending, name)
						}
						break
					}
				}
			}
		}
	}
	return packet
}

func (s *sftpStream) sendStatus(id uint32, code uint32, message string) {
	packet := []byte{0, 0, 0, 0, fxpStatus}
	packet = binary.BigEndian.AppendUint32(packet, id)
	packet = binary.BigEndian.AppendUint32(packet, code)
	packet = appendString(packet, message)
	packet = appendString(packet, "en")
	binary.BigEndian.PutUint32(packet, uint32(len(packet)-4))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channel.Write(packet)
}

// readPacket reads one length-prefixed SFTP packet, prefix included.
func readPacket(r io.Reader) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(header[:])
	if size == 0 || size > maxPacketSize {
		return nil, fmt.Errorf("sftp packet of %d bytes", size)
	}
	packet := make([]byte, 4+int(size))
	copy(packet, header[:])
	if _, err := io.ReadFull(r, packet[4:]); err != nil {
		return nil, err
	}
	return packet, nil
}

func takeUint32(b []byte) (uint32, []byte, bool) {
	if len(b) < 4 {
		return 0, b, false
	}
	return binary.BigEndian.Uint32(b), b[4:], true
}

func takeString(b []byte) (string, []byte, bool) {
	n, rest, ok := takeUint32(b)
	if !ok || uint64(len(rest)) < uint64(n) {
		return "", b, false
	}
	return string(rest[:n]), rest[n:], true
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
