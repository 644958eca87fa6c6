package mpsync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSinceText(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), "2026-11-23T08:00:00Z"},
		{time.Date(2026, 11, 23, 9, 0, 0, 0, berlin), "2026-11-23T08:00:00Z"},             // shown in UTC
		{time.Date(2026, 1, 1, 0, 30, 0, 0, berlin), "2025-12-31T23:30:00Z"},              // across a year in UTC
		{time.Date(2026, 11, 23, 8, 0, 0, 999_999_999, time.UTC), "2026-11-23T08:00:00Z"}, // seconds precision
	} {
		assert.Equal(t, tt.want, sinceText(tt.in), "sinceText(%v)", tt.in)
	}
}
