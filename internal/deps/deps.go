package deps
import (
 _ "github.com/robfig/cron/v3"
 _ "github.com/beevik/etree"
 _ "github.com/hashicorp/go-retryablehttp"
 _ "github.com/Masterminds/semver/v3"
 _ "github.com/stretchr/testify/require"
 _ "golang.org/x/text/encoding/unicode"
 _ "go.uber.org/goleak"
 _ "golang.org/x/term"
 _ "github.com/jackc/pgx/v5"
)
