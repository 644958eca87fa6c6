package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"mpsync.dev/mpsync/mpsynctest"
)

// A plan against the fake workspace of testdata/workspace, read as JSON the
// way a script reads it.
func Example_plan() {
	opts, err := mpsynctest.LoadDir("../../testdata/workspace")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := mpsynctest.NewServer(opts...)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "mpsync-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(srv.Key()), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--store", filepath.Join(dir, "store"),
		"--workspace-url", srv.URL(), "--allow-http",
		"--workspace-id", srv.WorkspaceID(), "--workspace-key-file", keyFile,
		"plan", "--rule", "MPUpdate", "--json",
	}, &stdout, &stderr, func(string) string { return "" }, false)
	fmt.Println("exit", code)

	var plan struct {
		Changes []struct {
			Action, Pack, From, To string
		} `json:"changes"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Changes {
		fmt.Printf("%s %s %q -> %s\n", c.Action, c.Pack, c.From, c.To)
	}
	// Output:
	// exit 0
	// import Microsoft.SystemCenter.Advisor "" -> 7.1.10226.1239
	// import Microsoft.SystemCenter.Advisor.Internal "" -> 7.1.10226.1239
	// import Microsoft.SystemCenter.Advisor.Resources.ENU "" -> 7.1.10226.1239
}

// A malformed --mg-version is bad configuration, an unknown flag bad usage:
// exit code 2 and one line on stderr that names the flag and the value.
func Example_badConfiguration() {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"connect", "--mg-version", "7.1.x"},
		&stdout, &stderr, func(string) string { return "" }, false)
	fmt.Println("exit", code)
	fmt.Print(stderr.String())

	stderr.Reset()
	code = run(context.Background(), []string{"sync", "--interval", "60"},
		&stdout, &stderr, func(string) string { return "" }, false)
	fmt.Println("exit", code)
	fmt.Print(stderr.String())
	// Output:
	// exit 2
	// mpsync connect: flag --mg-version "7.1.x": invalid management pack version "7.1.x": part 3 ("x") is not a non-negative decimal integer (want Major.Minor.Build.Revision, e.g. 7.2.11719.0)
	// exit 2
	// mpsync: unknown flag --interval (run 'mpsync --help' for usage)
}
