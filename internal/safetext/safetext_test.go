package safetext

import "testing"

// Regression (issue 15, point 4): the request's SharedKey signature, echoed
// by a proxy or server in an error body, reached stderr, the JSON and the
// ledger.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"header", "Authorization: SharedKey ws1:q8Jr+abc/def=", "Authorization: [REDACTED]"},
		{"lower case, equals", "authorization=SharedKey ws1:q8Jr+abc/def=", "authorization=[REDACTED]"},
		{"json echo", `{"Authorization":"SharedKey ws1:q8Jr+abc/def="}`, `{"Authorization":"[REDACTED]"}`},
		{"escaped json echo", `headers {\"Authorization\": \"SharedKey ws1:q8Jr+abc/def=\"}`, `headers {\"Authorization\": \"[REDACTED]\"}`},
		{"proxy header", "Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: [REDACTED]"},
		{"header then more", "Authorization: SharedKey ws1:sig=; x-ms-date: Mon", "Authorization: [REDACTED]; x-ms-date: Mon"},
		{"scheme alone", "signed SharedKey ws1:q8Jr+abc/def= was refused", "signed SharedKey [REDACTED] was refused"},
		{"basic alone", "got Basic dXNlcjpwYXNz", "got Basic [REDACTED]"},
		{"bearer", "Bearer eyJhbGciOi.eyJzdWIi.sig", "Bearer [REDACTED]"},
		{"two lines", "a\nAuthorization: SharedKey ws:sig1234\nb", "a\nAuthorization: [REDACTED]\nb"},
		{"plain text kept", "basic packs are missing", "basic packs are missing"},
		{"basic english kept", "Basic management packs are missing", "Basic management packs are missing"},
		{"sharedkey word kept", "SharedKey authentication failed", "SharedKey authentication failed"},
		{"bearer word kept", "bearer token expired", "bearer token expired"},
		{"word authorization kept", "authorization failed", "authorization failed"},
		{"nothing", "service unavailable", "service unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Regression (issue 15, point 6): escape sequences in a server's error text
// reached the terminal raw.
func TestEscape(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "quota exceeded", "quota exceeded"},
		{"unicode kept", "Kontingent überschritten – 配额", "Kontingent überschritten – 配额"},
		{"tab kept", "a\tb", "a\tb"},
		{"csi", "\x1b[2J\x1b[31mred", `\x1b[2J\x1b[31mred`},
		{"osc title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"newline", "a\r\nb", `a\r\nb`},
		{"del and c1", "a\x7fb\u009bc", `a\x7fb\x9bc`},
		{"bidi", "abc\u202edcba", `abc\u202edcba`},
		{"invalid utf-8", "a\xffb", `a\xffb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	if got, want := Clean("\x1b[1mAuthorization: SharedKey ws:abcdefgh"), `\x1b[1mAuthorization: [REDACTED]`; got != want {
		t.Errorf("Clean = %q, want %q", got, want)
	}
}
