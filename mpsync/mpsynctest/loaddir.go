package mpsynctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
)

// DirConfig is the workspace.json file of a directory [LoadDir] reads.
//
//	{
//	  "workspaceId": "6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11",
//	  "key": "bXBzeW5jLXF1aWNrc3RhcnQta2V5LW5vdC1hLXNlY3JldA==",
//	  "serial": 1,
//	  "solutions": [{"name": "AlertManagement", "enabled": true}],
//	  "packs": {
//	    "Microsoft.SystemCenter.Advisor": {"channel": "base"},
//	    "Microsoft.IntelligencePacks.AlertManagement":
//	        {"channel": "solution", "solution": "AlertManagement"}
//	  }
//	}
type DirConfig struct {
	// WorkspaceID is the workspace id; empty means DefaultWorkspaceID.
	WorkspaceID string `json:"workspaceId"`
	// Key is the workspace key in standard base64; empty means random.
	Key string `json:"key"`
	// Serial is the first catalog's serial; 0 means 1.
	Serial int64 `json:"serial"`
	// Solutions lists the workspace's solutions.
	Solutions []catalog.Solution `json:"solutions"`
	// Packs says, for each pack id, which channel (and solution) serves it.
	Packs map[string]DirPack `json:"packs"`
}

// DirPack is the catalog placement of one pack in a [DirConfig].
type DirPack struct {
	Channel  catalog.Channel `json:"channel"`
	Solution string          `json:"solution,omitempty"`
}

// LoadDir reads a workspace directory and returns the options that make a
// [Server] serve it:
//
//	DIR/workspace.json   a DirConfig: id, key, solutions, where each pack goes
//	DIR/packs/*.xml      the packs; each file's manifest gives id and version
//
// Every pack file must have an entry in workspace.json and every entry a
// file; an id may appear in one file only. Errors name the file and field.
// The repository's testdata/workspace is an example (the quickstart serves it).
func LoadDir(dir string) ([]Option, error) {
	cfgPath := filepath.Join(dir, "workspace.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("mpsynctest: LoadDir: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg DirConfig
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("mpsynctest: LoadDir: %s: %w", cfgPath, err)
	}
	var opts []Option
	if cfg.WorkspaceID != "" {
		opts = append(opts, WithWorkspaceID(cfg.WorkspaceID))
	}
	if cfg.Key != "" {
		if _, err := decodeKey(cfg.Key); err != nil {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: key: %w", cfgPath, err)
		}
		opts = append(opts, WithKey(cfg.Key))
	}
	if cfg.Serial != 0 {
		opts = append(opts, WithSerial(cfg.Serial))
	}
	for i, sol := range cfg.Solutions {
		if sol.Name == "" {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: solutions[%d] has no name", cfgPath, i)
		}
		opts = append(opts, WithSolution(sol.Name, sol.Enabled))
	}
	files, err := filepath.Glob(filepath.Join(dir, "packs", "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("mpsynctest: LoadDir: %w", err)
	}
	slices.Sort(files)
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %w", err)
		}
		m, err := pack.ReadManifest(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: %w", f, err)
		}
		if other, dup := seen[m.ID]; dup {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s and %s both hold pack %s", other, f, m.ID)
		}
		seen[m.ID] = f
		place, ok := cfg.Packs[m.ID]
		if !ok {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: pack %s has no entry in %s packs", f, m.ID, cfgPath)
		}
		switch place.Channel {
		case catalog.ChannelBase:
		case catalog.ChannelSolution:
			if place.Solution == "" {
				return nil, fmt.Errorf("mpsynctest: LoadDir: %s: packs[%s]: a solution pack needs a solution", cfgPath, m.ID)
			}
		default:
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: packs[%s]: channel %q is neither base nor solution", cfgPath, m.ID, place.Channel)
		}
		opts = append(opts, WithPack(m.ID, m.Version.String(), place.Channel, place.Solution, data))
	}
	for id := range cfg.Packs {
		if _, ok := seen[id]; !ok {
			return nil, fmt.Errorf("mpsynctest: LoadDir: %s: packs[%s] has no file in %s", cfgPath, id, filepath.Join(dir, "packs"))
		}
	}
	return opts, nil
}
