package testenv

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"
)

// WriteLinuxBinary writes a minimal Linux ELF executable header for goarch
// (amd64 or arm64) followed by payload, mode 0755: enough for anything that
// checks a binary's architecture, without cross-compiling one.
func WriteLinuxBinary(t testing.TB, path, goarch, payload string) {
	t.Helper()
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
	if machine == 0 {
		t.Fatalf("WriteLinuxBinary: unsupported GOARCH %q", goarch)
	}
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(machine))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint16(h[52:], 64) // e_ehsize
	le.PutUint16(h[54:], 56) // e_phentsize
	le.PutUint16(h[58:], 64) // e_shentsize
	if err := os.WriteFile(path, append(h, payload...), 0o755); err != nil {
		t.Fatal(err)
	}
}
