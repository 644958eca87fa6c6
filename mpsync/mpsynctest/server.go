package mpsynctest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

// DefaultWorkspaceID is the workspace id a [Server] serves unless
// [WithWorkspaceID] says otherwise.
const DefaultWorkspaceID = "6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11"

// MaxClockSkew is how far a request's x-ms-date may be from the server's
// clock (docs/protocol.md §4).
const MaxClockSkew = 15 * time.Minute

// InMemoryURL is the base URL of a server made by [NewWorkspace]: requests
// to it only work through [Server.Transport].
const InMemoryURL = "http://workspace.mpsync.test/"

// Server is a fake workspace service that serves docs/protocol.md from an
// in-memory catalog. It checks SharedKey signatures, answers conditional
// requests with 304, and can be told to fail (see [Server.Fail]). Tests
// change the catalog between requests with its mutators; it is safe for
// concurrent use. It is an [http.Handler], so a program can also mount it on
// its own listener (that is what `mpsync serve-workspace` does).
type Server struct {
	mu        sync.Mutex
	id        string
	key       []byte
	keyB64    string
	now       func() time.Time
	log       *slog.Logger
	serial    int64
	solutions []catalog.Solution
	packs     map[string]*served
	body      []byte // the current catalog document
	etag      string
	faults    []*faultRule
	stats     Stats
	requests  []Request
	hs        *httptest.Server
}

// served is one published pack: its catalog entry as served (possibly
// tampered with) and how to produce its bytes.
type served struct {
	entry catalog.Pack
	data  []byte
	open  func() io.ReadCloser
	size  int64 // of the real bytes
}

func (p *served) reader() io.ReadCloser {
	if p.open != nil {
		return p.open()
	}
	return io.NopCloser(strings.NewReader(string(p.data)))
}

// Option configures a [Server] at construction.
type Option func(*Server)

// WithWorkspaceID sets the workspace id; default [DefaultWorkspaceID].
func WithWorkspaceID(id string) Option { return func(s *Server) { s.id = id } }

// WithKey sets the workspace key (standard base64); default: 32 random
// bytes. It panics on bad base64.
func WithKey(keyBase64 string) Option {
	return func(s *Server) {
		k, err := base64.StdEncoding.DecodeString(keyBase64)
		if err != nil || len(k) == 0 {
			panic("mpsynctest: WithKey: the key is not standard base64")
		}
		s.key, s.keyB64 = k, keyBase64
	}
}

// WithClock sets the clock the 15-minute skew check and generatedAt read;
// default time.Now (which is fake time inside a testing/synctest bubble).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger logs each request (method, path, status; never headers) at
// Debug; default: no logging.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithSerial sets the first catalog's serial; default 1.
func WithSerial(n int64) Option { return func(s *Server) { s.serial = n } }

// WithSolution lists a solution, enabled or not.
func WithSolution(name string, enabled bool) Option {
	return func(s *Server) { s.setSolution(name, enabled) }
}

// WithPack publishes a pack; the arguments are those of [Server.Publish].
func WithPack(id, version string, channel catalog.Channel, solution string, xml []byte) Option {
	return func(s *Server) { s.publish(id, version, channel, solution, xml) }
}

// NewWorkspace returns a server that does not listen: reach it through
// [Server.Transport] (base URL [InMemoryURL]) or mount it as an
// [http.Handler]. Use it inside testing/synctest bubbles, which must not
// use the network.
func NewWorkspace(opts ...Option) *Server {
	s := &Server{id: DefaultWorkspaceID, now: time.Now, serial: 1, packs: map[string]*served{}}
	for _, o := range opts {
		o(s)
	}
	if s.key == nil {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		s.key, s.keyB64 = k, base64.StdEncoding.EncodeToString(k)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	s.rebuild()
	s.mu.Unlock()
	return s
}

// NewServer returns a server listening on a loopback address (an
// [httptest.Server]); Close stops it.
func NewServer(opts ...Option) *Server {
	s := NewWorkspace(opts...)
	s.hs = httptest.NewServer(s)
	return s
}

// URL returns the base URL to configure a client with, ending in "/":
// the loopback server's, or [InMemoryURL] for [NewWorkspace].
func (s *Server) URL() string {
	if s.hs != nil {
		return s.hs.URL + "/"
	}
	return InMemoryURL
}

// Close stops the loopback server, waiting for requests in flight; it does
// nothing for [NewWorkspace].
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.Close()
	}
}

// WorkspaceID returns the workspace id served.
func (s *Server) WorkspaceID() string { return s.id }

// Key returns the workspace key, base64 as a user has it.
func (s *Server) Key() string { return s.keyB64 }

// ClientConfig returns a workspace.Config for this server: BaseURL,
// WorkspaceID, Key, AllowHTTP, and for [NewWorkspace] the in-memory
// Transport.
func (s *Server) ClientConfig() workspace.Config {
	c := workspace.Config{BaseURL: s.URL(), WorkspaceID: s.id, Key: s.keyB64, AllowHTTP: true}
	if s.hs == nil {
		c.Transport = s.Transport()
	}
	return c
}

// Serial returns the current catalog's serial.
func (s *Server) Serial() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serial
}

// ETag returns the current catalog's entity tag.
func (s *Server) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// Catalog returns a copy of the catalog currently served.
func (s *Server) Catalog() *catalog.Catalog {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.catalogLocked()
	return &c
}

// EnableSolution lists the solution as enabled (adding it if missing).
func (s *Server) EnableSolution(name string) { s.change(func() { s.setSolution(name, true) }) }

// DisableSolution lists the solution as disabled (adding it if missing).
func (s *Server) DisableSolution(name string) { s.change(func() { s.setSolution(name, false) }) }

// RemoveSolution drops the solution from the list; its packs are then not
// wanted.
func (s *Server) RemoveSolution(name string) {
	s.change(func() {
		s.solutions = slices.DeleteFunc(s.solutions, func(x catalog.Solution) bool { return x.Name == name })
	})
}

// Publish serves xml as pack id at version (a new pack or a new version of
// one), with a catalog entry computed from the bytes: size, sha256 and href
// "packs/{id}/{version}". The bytes may be a sealed pack (.mp) too; it is
// served as application/octet-stream, XML as application/xml. channel is catalog.ChannelBase or
// catalog.ChannelSolution (then solution names the solution). The server
// serves what it is given: the manifest inside xml is not checked, so a test
// can publish a pack whose manifest lies about its identity. It panics on a
// version that does not parse.
func (s *Server) Publish(id, version string, channel catalog.Channel, solution string, xml []byte) {
	s.change(func() { s.publish(id, version, channel, solution, xml) })
}

// PublishStream is Publish for bytes produced on demand (e.g. a 100 MB pack
// from [GeneratedPack]): open is called once now to compute size and
// SHA-256, and once per download; each reader is closed after use.
func (s *Server) PublishStream(id, version string, channel catalog.Channel, solution string, open func() io.ReadCloser) {
	rc := open()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil {
		panic(fmt.Sprintf("mpsynctest: PublishStream %s: reading: %v", id, err))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.change(func() { s.publishSum(id, version, channel, solution, nil, open, n, sum) })
}

// Unpublish removes the pack from the catalog.
func (s *Server) Unpublish(id string) { s.change(func() { delete(s.packs, id) }) }

// Tamper edits the catalog entry of a published pack without changing the
// bytes served: a wrong sha256 or size, another href, another version.
// It panics when id is not published.
func (s *Server) Tamper(id string, edit func(*catalog.Pack)) {
	s.change(func() {
		p, ok := s.packs[id]
		if !ok {
			panic("mpsynctest: Tamper: pack " + id + " is not published")
		}
		edit(&p.entry)
	})
}

// SetSerial sets the catalog's serial to n (lower values replay a rolled-
// back catalog) and changes the ETag.
func (s *Server) SetSerial(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial = n
	s.rebuild()
}

// change applies a mutation, bumps the serial and rebuilds the document.
func (s *Server) change(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	s.serial++
	s.rebuild()
}

func (s *Server) setSolution(name string, enabled bool) {
	for i := range s.solutions {
		if s.solutions[i].Name == name {
			s.solutions[i].Enabled = enabled
			return
		}
	}
	s.solutions = append(s.solutions, catalog.Solution{Name: name, Enabled: enabled})
}

func (s *Server) publish(id, version string, channel catalog.Channel, solution string, data []byte) {
	sum := sha256.Sum256(data)
	s.publishSum(id, version, channel, solution, data, nil, int64(len(data)), hex.EncodeToString(sum[:]))
}

func (s *Server) publishSum(id, version string, channel catalog.Channel, solution string, data []byte, open func() io.ReadCloser, size int64, sum string) {
	v, err := pack.ParseVersion(version)
	if err != nil {
		panic(fmt.Sprintf("mpsynctest: Publish %s: %v", id, err))
	}
	if channel == catalog.ChannelBase {
		solution = ""
	}
	s.packs[id] = &served{
		entry: catalog.Pack{
			ID: id, Version: v, Channel: channel, Solution: solution,
			SHA256: sum, Size: size,
			Href: "packs/" + url.PathEscape(id) + "/" + url.PathEscape(v.String()),
		},
		data: data, open: open, size: size,
	}
}

func (s *Server) catalogLocked() catalog.Catalog {
	c := catalog.Catalog{
		SchemaVersion: "1.0",
		WorkspaceID:   s.id,
		Serial:        s.serial,
		GeneratedAt:   s.now().UTC().Truncate(time.Second),
		Solutions:     slices.Clone(s.solutions),
		Packs:         []catalog.Pack{},
	}
	if c.Solutions == nil {
		c.Solutions = []catalog.Solution{}
	}
	ids := make([]string, 0, len(s.packs))
	for id := range s.packs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.Packs = append(c.Packs, s.packs[id].entry)
	}
	return c
}

// rebuild renders the catalog document and its ETag.
func (s *Server) rebuild() {
	c := s.catalogLocked()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		panic("mpsynctest: rendering the catalog: " + err.Error())
	}
	s.body = b
	sum := sha256.Sum256(b)
	s.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
}

// checkAuth verifies the SharedKey signature; it returns the status and
// error code to refuse with, or 0.
func (s *Server) checkAuth(r *http.Request, ws string) (int, string, string) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "SharedKey ")
	if !ok {
		return http.StatusUnauthorized, "MissingSignature", "the Authorization header is missing or not SharedKey"
	}
	gotWS, sig, ok := strings.Cut(rest, ":")
	if !ok {
		return http.StatusUnauthorized, "InvalidSignature", "the Authorization header is not SharedKey {workspaceId}:{signature}"
	}
	if gotWS != ws {
		return http.StatusForbidden, "WrongWorkspace", "the signature is for another workspace"
	}
	date := r.Header.Get("x-ms-date")
	t, err := time.Parse(workspace.DateFormat, date)
	if err != nil {
		return http.StatusUnauthorized, "InvalidDate", "x-ms-date is missing or not RFC 1123 GMT"
	}
	if d := s.now().Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return http.StatusUnauthorized, "ClockSkew", fmt.Sprintf("x-ms-date is %s away from the server clock (limit %s)", d.Round(time.Second), MaxClockSkew)
	}
	want := workspace.Signature(s.key, workspace.StringToSign(r.Method, 0, "", date, workspace.ResourcePath(r)))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return http.StatusUnauthorized, "InvalidSignature", "the signature does not match"
	}
	return 0, "", ""
}

// writeError writes a docs/protocol.md §3 error body.
func writeError(w http.ResponseWriter, status int, code, msg string) int64 {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	n, _ := w.Write(b)
	return int64(n)
}

func decodeKey(k string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("not standard base64")
	}
	return b, nil
}
