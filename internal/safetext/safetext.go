// Package safetext makes text that came from elsewhere (a service's error
// body, a proxy's answer) safe to print and to record: [Redact] removes
// credentials by pattern, [Escape] makes control characters visible, and
// [Clean] does both.
//
// Patterns are a backstop, not the first defence: the workspace client
// also removes the secrets it knows (the key, the proxy password) by
// value. A request's SharedKey signature differs on every request, so it
// can only be found by its shape.
package safetext

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a credential.
const Redacted = "[REDACTED]"

var (
	// An Authorization or Proxy-Authorization header's value, as a
	// server or proxy echoes it: "Authorization: SharedKey ws:sig",
	// "authorization=Basic dXNlcjpwYXNz", JSON "\"Authorization\":
	// \"SharedKey ws:sig\"". The value runs to the end of the line or to
	// a quote, comma, semicolon or backslash.
	headerRE = regexp.MustCompile(`(?i)((?:proxy-)?authorization\\?["']?\s*[:=]\s*\\?["']?)[^\r\n"',;\\]+`)
	// A credential with its scheme anywhere else: "SharedKey ws:sig",
	// "Basic dXNlcjpwYXNz", "Bearer eyJ...". Which of these is a
	// credential, and not English ("basic management packs"), is decided
	// by isCredential.
	schemeRE = regexp.MustCompile(`(?i)\b(SharedKey|Basic|Bearer)(\s+)([A-Za-z0-9+/=:._~-]+)`)
)

// isCredential reports whether token, after scheme, has a credential's
// shape: SharedKey "id:signature", Basic base64 of "user:password",
// Bearer at least 16 characters.
func isCredential(scheme, token string) bool {
	switch strings.ToLower(scheme) {
	case "sharedkey":
		id, sig, ok := strings.Cut(token, ":")
		return ok && id != "" && sig != ""
	case "basic":
		b, err := base64.StdEncoding.DecodeString(token)
		return err == nil && strings.Contains(string(b), ":")
	}
	return len(token) >= 16
}

// Redact replaces the value of every Authorization and
// Proxy-Authorization header in s, and every SharedKey, Basic or Bearer
// credential, with [Redacted], keeping the header's name and the scheme.
func Redact(s string) string {
	if !strings.ContainsAny(s, "aAbBsS") {
		return s
	}
	s = headerRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := headerRE.FindStringSubmatch(m)
		return sub[1] + Redacted
	})
	return schemeRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemeRE.FindStringSubmatch(m)
		if !isCredential(sub[1], sub[3]) {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
}

// Escape returns s with every control character (C0 but tab, DEL, C1),
// bidirectional formatting character and byte that is not UTF-8 written
// as a Go escape (\x1b, \u202e), so that text from a service cannot move
// the cursor, recolour or retitle a terminal, or reorder what a person
// reads. Printable text, newlines included, is unchanged otherwise:
// \n and \r are escaped too.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Clean is Escape(Redact(s)).
func Clean(s string) string { return Escape(Redact(s)) }

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || r == '\n' || r == '\r' || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune reports a control or bidirectional formatting character.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
