package workspace

import (
	"context"
	"fmt"
	"log/slog"
)

// scrubHandler removes the client's secrets from every record: the message
// and every attribute value that renders as text.
type scrubHandler struct {
	h slog.Handler
	c *Client
}

func (s *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, s.c.scrub.Replace(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(s.attr(a))
		return true
	})
	return s.h.Handle(ctx, out)
}

func (s *scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, s.c.scrub.Replace(v.String()))
	case slog.KindGroup:
		g := v.Group()
		as := make([]any, 0, len(g))
		for _, x := range g {
			as = append(as, s.attr(x))
		}
		return slog.Group(a.Key, as...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, s.c.scrub.Replace(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, s.c.scrub.Replace(x.String()))
		default:
			return slog.String(a.Key, s.c.scrub.Replace(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (s *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = s.attr(a)
	}
	return &scrubHandler{h: s.h.WithAttrs(clean), c: s.c}
}

func (s *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{h: s.h.WithGroup(name), c: s.c}
}

// leveled adapts a *slog.Logger to retryablehttp.LeveledLogger (which it
// already satisfies) while keeping retryablehttp's chatter at Debug.
type leveled struct{ l *slog.Logger }

func (l leveled) Error(msg string, kv ...any) { l.l.Debug("http: "+msg, kv...) }
func (l leveled) Info(msg string, kv ...any)  { l.l.Debug("http: "+msg, kv...) }
func (l leveled) Debug(msg string, kv ...any) { l.l.Debug("http: "+msg, kv...) }
func (l leveled) Warn(msg string, kv ...any)  { l.l.Debug("http: "+msg, kv...) }
