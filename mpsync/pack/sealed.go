package pack

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// This file reads sealed packs: it finds the pack's XML inside the .NET
// assembly (pe.go, metadata.go, tables.go, assembly.go, resources.go),
// decompresses it and hands it to the XML reader.

// sealedPack is where a sealed pack's XML was found.
type sealedPack struct {
	token string // public key token of the assembly, "" if unsigned
	// where names the resource (and entry) holding the XML, for errors.
	where   string
	payload []byte // the stored bytes: gzip, or XML as is
}

// isSealed tells whether head starts like a PE file.
func isSealed(head []byte) bool { return bytes.HasPrefix(head, []byte("MZ")) }

// readAtMost reads r to its end into memory, failing when it holds more
// than limit bytes: the PE and metadata walk needs random access.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: sealed pack is larger than %d bytes (Limits.MaxBytes)", ErrMalformed, limit)
	}
	return b, nil
}

// openSealed walks the assembly in b to the resource that holds the pack.
func openSealed(b []byte) (sealedPack, error) {
	img, err := parsePE(b)
	if err != nil {
		return sealedPack{}, err
	}
	cli, err := readCLIHeader(img)
	if err != nil {
		return sealedPack{}, err
	}
	md, err := readMetadata(img, cli)
	if err != nil {
		return sealedPack{}, err
	}
	asm, err := md.readAssembly()
	if err != nil {
		return sealedPack{}, err
	}
	sp, err := findPackResource(img, cli, md)
	if err != nil {
		return sealedPack{}, fmt.Errorf("%w (assembly %s)", err, asm.name)
	}
	sp.token = publicKeyToken(asm.publicKey)
	return sp, nil
}

// findPackResource looks through the embedded manifest resources for the
// pack's XML: the ManagementPack entry of a .resources file (the layout of
// Microsoft's packs) or a resource called ManagementPack. Each resource's
// data is searched once even when many rows point at it, and the entries
// looked at in all of them share one budget (an entry takes at least 8 bytes
// of the resources directory), so the work is bounded by the file's size,
// not by rows times entries, even when rows point into overlapping data.
func findPackResource(img *peImage, cli cliHeader, md *metadata) (sealedPack, error) {
	var names []string
	searched := make(map[uint32]bool)
	budget := uint64(cli.resourcesSize)/8 + 1
	for i := range md.rows[tManifestResource] {
		res, err := md.manifestResource(i)
		if err != nil {
			return sealedPack{}, err
		}
		if len(names) < 8 {
			names = append(names, res.name)
		}
		if !res.embedded {
			continue
		}
		if res.name == packEntry || strings.HasSuffix(res.name, "."+packEntry) {
			data, err := resourceData(img, cli, res)
			if err != nil {
				return sealedPack{}, err
			}
			return sealedPack{where: "resource " + res.name, payload: data}, nil
		}
		if searched[res.offset] {
			continue
		}
		searched[res.offset] = true
		if sp, ok, err := searchResourcesFile(img, cli, res, &budget); ok || err != nil {
			return sp, err
		}
	}
	if n := md.rows[tManifestResource]; n > uint32(len(names)) {
		names = append(names, fmt.Sprintf("and %d more", n-uint32(len(names))))
	}
	if len(names) == 0 {
		names = append(names, "none")
	}
	return sealedPack{}, notPackf("a .NET assembly without a management pack: no embedded resource holds a %s entry (resources: %s)",
		packEntry, strings.Join(names, ", "))
}

// searchResourcesFile looks for the ManagementPack entry in res when res is
// a .resources file.
func searchResourcesFile(img *peImage, cli cliHeader, res manifestResource, budget *uint64) (sealedPack, bool, error) {
	data, err := resourceData(img, cli, res)
	if err != nil || !isResourcesFile(data) {
		return sealedPack{}, false, err
	}
	where := "resource " + res.name
	v, ok, err := findResourceEntry(data, packEntry, where, budget)
	if err != nil || !ok {
		return sealedPack{}, false, err
	}
	return sealedPack{where: where + " entry " + packEntry, payload: v}, true, nil
}

// resourceData returns an embedded resource's bytes: at its offset in the
// CLI header's resources directory, a four-byte length and the data.
func resourceData(img *peImage, cli cliHeader, res manifestResource) ([]byte, error) {
	dir, err := img.slice(cli.resourcesRVA, cli.resourcesSize, "resources directory of the CLI header")
	if err != nil {
		return nil, err
	}
	off := uint64(res.offset)
	if off+4 > uint64(len(dir)) {
		return nil, malformedf("resource %s (ManifestResource row %d) at offset %d is past the resources directory (%d bytes)",
			res.name, res.row, off, len(dir))
	}
	n := uint64(le32(dir, off))
	if off+4+n > uint64(len(dir)) {
		return nil, malformedf("resource %s (ManifestResource row %d) at offset %d declares %d bytes, past the resources directory (%d bytes)",
			res.name, res.row, off, n, len(dir))
	}
	return dir[off+4 : off+4+n], nil
}

// xmlReader returns the pack's XML as the XML reader takes it: gzip is
// decompressed as it is read (so a bomb costs only as much as the reader's
// limit lets it read), and UTF-16 without a byte-order mark, as Microsoft's
// tools store it, gets one.
func (sp sealedPack) xmlReader() (io.Reader, error) {
	var r io.Reader = bytes.NewReader(sp.payload)
	if bytes.HasPrefix(sp.payload, []byte{0x1F, 0x8B}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: sealed pack %s: gzip header: %w", ErrMalformed, sp.where, err)
		}
		r = gzipErrors{zr}
	}
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(2) // an error comes back on the first Read
	switch {
	case len(head) == 2 && head[0] == '<' && head[1] == 0:
		return io.MultiReader(bytes.NewReader([]byte{0xFF, 0xFE}), br), nil
	case len(head) == 2 && head[0] == 0 && head[1] == '<':
		return io.MultiReader(bytes.NewReader([]byte{0xFE, 0xFF}), br), nil
	}
	return br, nil
}

// gzipErrors marks decompression errors as ErrMalformed; readSealed adds
// the resource's name.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	k, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("compressed data ends early")
		}
		err = fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	return k, err
}
