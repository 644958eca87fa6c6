package pack

import "io"

// ValidateByDecoder is Validate as it was before scanDocument: encoding/xml
// reads the whole document. Tests compare the two.
func ValidateByDecoder(r io.Reader, want Expect, lim Limits) (Manifest, error) {
	return read(r, want, lim.withDefaults(), true)
}
