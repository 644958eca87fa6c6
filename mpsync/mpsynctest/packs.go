package mpsynctest

import (
	"fmt"
	"io"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// Pack returns a small, valid management pack (UTF-8 XML) with the given
// identity and references: a manifest, a module type and one rule, an
// English language pack. It reads back with pack.ReadManifest and passes
// pack.Validate. It panics on an invalid id or version, as a test helper.
func Pack(id, version string, refs ...pack.Reference) []byte {
	b, err := spec(id, version, refs, 0).Bytes()
	if err != nil {
		panic(fmt.Sprintf("mpsynctest: Pack: %v", err))
	}
	return b
}

// PlatformReference returns a reference to a platform pack (one that ships
// with the management group, such as Microsoft.SystemCenter.Library
// 7.0.8433.0) with its Microsoft public key token.
func PlatformReference(alias, id, version string) pack.Reference {
	return pack.Reference{Alias: alias, ID: id, Version: pack.MustParseVersion(version), PublicKeyToken: "31bf3856ad364e35"}
}

// GeneratedPack returns an opener for a valid pack of at least size bytes
// that is generated as it is read, so a 100 MB pack costs no memory; pass
// it to [Server.PublishStream]. Each call of the opener starts a new,
// identical stream; closing it stops the generator.
func GeneratedPack(id, version string, size int) func() io.ReadCloser {
	sp := spec(id, version, nil, size)
	return func() io.ReadCloser {
		pr, pw := io.Pipe()
		go func() {
			_, err := sp.WriteTo(pw)
			pw.CloseWithError(err)
		}()
		return pr
	}
}

func spec(id, version string, refs []pack.Reference, size int) packgen.Spec {
	v, err := pack.ParseVersion(version)
	if err != nil {
		panic(fmt.Sprintf("mpsynctest: pack %s: %v", id, err))
	}
	return packgen.Spec{ID: id, Version: v, References: refs, Rules: 1, TargetSize: size}
}
