package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions, applied in order, each once; the
// version reached is recorded in <schema>.store_migrations. Append, never
// edit: a database at version n runs only the statements after n.
func (s *Store) migrations() [][]string {
	seq := pgx.Identifier{s.schema, "lease_token"}.Sanitize()
	fn := pgx.Identifier{s.schema, "lease_fence"}.Sanitize()
	ver := pgx.Identifier{s.schema, "store_version"}.Sanitize()
	metaFn := pgx.Identifier{s.schema, "store_meta_version"}.Sanitize()
	genFn := pgx.Identifier{s.schema, "store_packs_gen"}.Sanitize()
	return [][]string{
		1: {
			`CREATE TABLE ` + s.tBlobs + ` (
	sha256 text PRIMARY KEY,
	size   bigint NOT NULL
)`,
			`CREATE TABLE ` + s.tChunks + ` (
	sha256 text    NOT NULL REFERENCES ` + s.tBlobs + ` ON DELETE CASCADE,
	seq    integer NOT NULL,
	data   bytea   NOT NULL,
	PRIMARY KEY (sha256, seq)
)`,
			`CREATE TABLE ` + s.tPacks + ` (
	grp         text NOT NULL,
	id          text COLLATE "C" NOT NULL,
	sha256      text NOT NULL REFERENCES ` + s.tBlobs + `,
	prev_sha256 text REFERENCES ` + s.tBlobs + `,
	entry       jsonb NOT NULL,
	PRIMARY KEY (grp, id)
)`,
			`CREATE INDEX ON ` + s.tPacks + ` (sha256)`,
			`CREATE INDEX ON ` + s.tPacks + ` (prev_sha256)`,
			`CREATE TABLE ` + s.tMeta + ` (
	grp  text NOT NULL,
	name text NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (grp, name)
)`,
			// Fencing: pgledger's lease table gets a token that the
			// database itself moves forward, from a sequence, whenever the
			// lease changes hands (a new holder, or the same holder after
			// its lease expired or was released). pgledger's own Acquire
			// keeps working and keeps the token right.
			`CREATE SEQUENCE ` + seq,
			`ALTER TABLE ` + s.tLease + ` ADD COLUMN IF NOT EXISTS token bigint NOT NULL DEFAULT 0`,
			`CREATE OR REPLACE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' OR NEW.holder IS DISTINCT FROM OLD.holder OR NEW.acquired_at IS DISTINCT FROM OLD.acquired_at THEN
		NEW.token := nextval('` + seq + `');
	ELSE
		NEW.token := OLD.token;
	END IF;
	RETURN NEW;
END $$`,
			`CREATE TRIGGER lease_fence BEFORE INSERT OR UPDATE ON ` + s.tLease + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
		},
		// Versions, so that a server can tell in one query what changed
		// since it last looked (the store's cache, Generation): every
		// meta record carries a version from a sequence, moved by every
		// write, and store_gen holds one generation per group, moved by
		// every change of a pack row, by whatever statement makes it.
		2: {
			`CREATE SEQUENCE ` + ver,
			`CREATE TABLE ` + s.tGen + ` (
	grp   text PRIMARY KEY,
	packs bigint NOT NULL
)`,
			`ALTER TABLE ` + s.tMeta + ` ADD COLUMN version bigint NOT NULL DEFAULT 0`,
			`UPDATE ` + s.tMeta + ` SET version = nextval('` + ver + `')`,
			`CREATE FUNCTION ` + metaFn + `() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := nextval('` + ver + `');
	RETURN NEW;
END $$`,
			`CREATE TRIGGER store_meta_version BEFORE INSERT OR UPDATE ON ` + s.tMeta + ` FOR EACH ROW EXECUTE FUNCTION ` + metaFn + `()`,
			`CREATE FUNCTION ` + genFn + `() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE g text;
BEGIN
	IF TG_OP = 'DELETE' THEN g := OLD.grp; ELSE g := NEW.grp; END IF;
	INSERT INTO ` + s.tGen + ` (grp, packs) VALUES (g, nextval('` + ver + `'))
	ON CONFLICT (grp) DO UPDATE SET packs = excluded.packs;
	IF TG_OP = 'UPDATE' AND OLD.grp IS DISTINCT FROM NEW.grp THEN
		INSERT INTO ` + s.tGen + ` (grp, packs) VALUES (OLD.grp, nextval('` + ver + `'))
		ON CONFLICT (grp) DO UPDATE SET packs = excluded.packs;
	END IF;
	RETURN NULL;
END $$`,
			`CREATE TRIGGER store_packs_gen AFTER INSERT OR UPDATE OR DELETE ON ` + s.tPacks + ` FOR EACH ROW EXECUTE FUNCTION ` + genFn + `()`,
			`INSERT INTO ` + s.tGen + ` (grp, packs) SELECT grp, nextval('` + ver + `') FROM (SELECT DISTINCT grp FROM ` + s.tPacks + `) g`,
		},
	}
}

// SchemaVersion is the schema version this package migrates to.
const SchemaVersion = 2

// Migrate brings the schema to [SchemaVersion]: it creates the tables on an
// empty database and applies the versions a database lacks. It is
// idempotent and safe when several servers start at once: the whole
// migration runs in one transaction under an advisory lock, so one server
// migrates and the others, once it commits, find nothing to do. A
// database at a newer version than this package knows is refused. [Open]
// runs it.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.check(ctx, "migrate", s.schema); err != nil {
		return err
	}
	err := func() error {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "mpsync.pgstore.migrate."+s.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.tMig+` (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+s.tMig).Scan(&have); err != nil {
			return err
		}
		ms := s.migrations()
		if have > len(ms)-1 {
			return fmt.Errorf("the database's store schema is at version %d, newer than this program's %d: upgrade mpsync", have, len(ms)-1)
		}
		for v := have + 1; v < len(ms); v++ {
			for _, stmt := range ms[v] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("version %d: %w", v, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.tMig+` (version) VALUES ($1)`, v); err != nil {
				return err
			}
			s.log.Info("pgstore: schema migrated", "version", v)
		}
		return tx.Commit(ctx)
	}()
	if err != nil {
		return s.dbErr(ctx, "migrate", s.schema, err)
	}
	return nil
}

// Migrations returns how many schema versions were applied to the
// database, by any server: after any number of concurrent first starts it
// is [SchemaVersion], each version applied once.
func (s *Store) Migrations(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.tMig).Scan(&n); err != nil {
		return 0, s.dbErr(ctx, "migrations", s.schema, err)
	}
	return n, nil
}
