package pack

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
)

// This file reads the two metadata tables a sealed pack is found through:
// Assembly (0x20), for the signing key, and ManifestResource (0x28), for
// the resources the pack's XML is stored in.

// assemblyRow is what the reader uses of the Assembly table's row.
type assemblyRow struct {
	name      string
	publicKey []byte
}

// readAssembly reads the first (and in a valid assembly the only) row of
// the Assembly table.
func (md *metadata) readAssembly() (assemblyRow, error) {
	if md.rows[tAssembly] == 0 {
		return assemblyRow{}, notPackf("a .NET module without an Assembly table row: a sealed pack is an assembly")
	}
	r := md.row(tAssembly, 0)
	r.next(u32)   // HashAlgId
	for range 4 { // MajorVersion, MinorVersion, BuildNumber, RevisionNumber
		r.next(u16)
	}
	r.next(u32) // Flags
	key, err := md.heapBlob(r.next(blob), "Assembly table row 1, PublicKey")
	if err != nil {
		return assemblyRow{}, err
	}
	name, err := md.heapString(r.next(str), "Assembly table row 1, Name")
	if err != nil {
		return assemblyRow{}, err
	}
	return assemblyRow{name: name, publicKey: key}, nil
}

// publicKeyToken is the .NET public key token of key: the last eight bytes
// of its SHA-1 hash in reverse order, as lower-case hex. An empty key (an
// unsigned assembly) has no token.
func publicKeyToken(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	sum := sha1.Sum(key)
	tok := slices.Clone(sum[len(sum)-8:])
	slices.Reverse(tok)
	return hex.EncodeToString(tok)
}

// manifestResource is one row of the ManifestResource table.
type manifestResource struct {
	row    uint32 // 1-based, as in error messages
	name   string
	offset uint32 // from the start of the CLI header's resources directory
	// embedded is true when the resource's data is in this file; false
	// when it lives in another file or assembly (Implementation is set).
	embedded bool
}

// manifestResource reads row i (0-based) of the ManifestResource table.
func (md *metadata) manifestResource(i uint32) (manifestResource, error) {
	r := md.row(tManifestResource, i)
	res := manifestResource{row: i + 1, offset: r.next(u32)}
	r.next(u32) // Flags: public or private, irrelevant here
	name, err := md.heapString(r.next(str), fmt.Sprintf("ManifestResource table row %d, Name", i+1))
	if err != nil {
		return res, err
	}
	res.name = name
	res.embedded = r.next(coded(ciImplementation)) == 0
	return res, nil
}
