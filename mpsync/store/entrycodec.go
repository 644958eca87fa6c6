package store

import (
	"encoding/json"
	"fmt"

	"mpsync.dev/internal/wire"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// How an entry is kept in the packs table's entry column: database layout 2
// writes entryFormat followed by the fields in the order encodeEntry gives;
// layout 1 wrote JSON, which decodeEntry still reads (a JSON document starts
// with '{', never with entryFormat). Decoding JSON was most of the cost of
// a start of the command at 1,000 packs (about 10 µs an entry); this
// format decodes in well under a microsecond.
const entryFormat byte = 1

// encodeEntry returns e in the entry column's format.
func encodeEntry(e storage.Entry) []byte {
	enc := wire.NewEncoder(make([]byte, 0, 320))
	enc.Byte(entryFormat)
	enc.String(e.ID)
	encodeVersion(enc, e.Version)
	enc.String(e.Name)
	encodeRefs(enc, e.References)
	enc.String(e.SHA256)
	enc.Int(e.Size)
	enc.Int(int64(e.Sealed))
	enc.String(e.PublicKeyToken)
	enc.Time(e.ImportedAt)
	encodeProvenance(enc, e.Provenance)
	enc.Bool(e.Previous != nil)
	if p := e.Previous; p != nil {
		encodeVersion(enc, p.Version)
		enc.String(p.Name)
		enc.String(p.SHA256)
		enc.Int(p.Size)
		enc.Time(p.ImportedAt)
		encodeRefs(enc, p.References)
		enc.Int(int64(p.Sealed))
		enc.String(p.PublicKeyToken)
		encodeProvenance(enc, p.Provenance)
	}
	return enc.Bytes()
}

// decodeEntry reads an entry column written by encodeEntry, or by the JSON
// of database layout 1. The error names the pack (the row's id) and wraps
// [ErrDamaged].
func decodeEntry(id string, b []byte) (storage.Entry, error) {
	var e storage.Entry
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &e); err != nil {
			return storage.Entry{}, fmt.Errorf("%w: the entry of %s does not decode: %w", ErrDamaged, id, err)
		}
		return checkEntryID(id, e)
	}
	d := wire.NewDecoder(b)
	if f := d.Byte(); d.Err() == nil && f != entryFormat {
		return storage.Entry{}, fmt.Errorf("%w: the entry of %s is in format %d, which this library does not read", ErrDamaged, id, f)
	}
	e.ID = d.String()
	e.Version = decodeVersion(d)
	e.Name = d.String()
	e.References = decodeRefs(d)
	e.SHA256 = d.String()
	e.Size = d.Int()
	e.Sealed = pack.Sealed(d.Int())
	e.PublicKeyToken = d.String()
	e.ImportedAt = d.Time()
	e.Provenance = decodeProvenance(d)
	if d.Bool() {
		p := &storage.Previous{}
		p.Version = decodeVersion(d)
		p.Name = d.String()
		p.SHA256 = d.String()
		p.Size = d.Int()
		p.ImportedAt = d.Time()
		p.References = decodeRefs(d)
		p.Sealed = pack.Sealed(d.Int())
		p.PublicKeyToken = d.String()
		p.Provenance = decodeProvenance(d)
		e.Previous = p
	}
	if err := d.Finish(); err != nil {
		return storage.Entry{}, fmt.Errorf("%w: the entry of %s does not decode: %w", ErrDamaged, id, err)
	}
	return checkEntryID(id, e)
}

func checkEntryID(id string, e storage.Entry) (storage.Entry, error) {
	if e.ID != id {
		return storage.Entry{}, fmt.Errorf("%w: the entry of %s names the pack %q", ErrDamaged, id, e.ID)
	}
	return e, nil
}

func encodeVersion(enc *wire.Encoder, v pack.Version) {
	enc.Uint(uint64(v.Major))
	enc.Uint(uint64(v.Minor))
	enc.Uint(uint64(v.Build))
	enc.Uint(uint64(v.Revision))
}

func decodeVersion(d *wire.Decoder) pack.Version {
	return pack.Version{Major: d.Uint32(), Minor: d.Uint32(), Build: d.Uint32(), Revision: d.Uint32()}
}

func encodeRefs(enc *wire.Encoder, refs []pack.Reference) {
	enc.Uint(uint64(len(refs)))
	for _, r := range refs {
		enc.String(r.Alias)
		enc.String(r.ID)
		encodeVersion(enc, r.Version)
		enc.String(r.PublicKeyToken)
	}
}

// decodeRefs returns nil for no references, as the JSON of an entry
// without references decoded.
func decodeRefs(d *wire.Decoder) []pack.Reference {
	n := d.Count(7) // the shortest reference: 3 empty strings and 4 one-byte numbers
	if n == 0 {
		return nil
	}
	refs := make([]pack.Reference, n)
	for i := range refs {
		refs[i].Alias = d.String()
		refs[i].ID = d.String()
		refs[i].Version = decodeVersion(d)
		refs[i].PublicKeyToken = d.String()
	}
	return refs
}

func encodeProvenance(enc *wire.Encoder, p storage.Provenance) {
	enc.String(string(p.Owner))
	enc.String(p.WorkspaceID)
	enc.String(p.Rule)
	enc.String(p.Solution)
}

func decodeProvenance(d *wire.Decoder) storage.Provenance {
	return storage.Provenance{Owner: storage.Owner(d.String()), WorkspaceID: d.String(), Rule: d.String(), Solution: d.String()}
}
