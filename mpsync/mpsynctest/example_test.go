package mpsynctest_test

import (
	"context"
	"fmt"
	"net/http"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

// A test publishes packs, changes the catalog between requests and checks
// what the client asked for.
func ExampleNewServer() {
	srv := mpsynctest.NewServer(
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithPack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0",
			catalog.ChannelSolution, "AlertManagement",
			mpsynctest.Pack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0")),
	)
	defer srv.Close()
	c, _ := workspace.New(srv.ClientConfig())
	ctx := context.Background()

	res, _ := c.Catalog(ctx)
	fmt.Println("serial", res.Catalog.Serial, "enabled", res.Catalog.Enabled("AlertManagement"))

	srv.DisableSolution("AlertManagement")
	res, _ = c.Catalog(ctx)
	fmt.Println("serial", res.Catalog.Serial, "enabled", res.Catalog.Enabled("AlertManagement"))

	res, _ = c.Catalog(ctx)
	st := srv.Stats()
	fmt.Println("not modified", res.NotModified, "requests", st.CatalogRequests, "304s", st.NotModified, "pack bytes", st.PackBytes)
	// Output:
	// serial 1 enabled true
	// serial 2 enabled false
	// not modified true requests 3 304s 1 pack bytes 0
}

// Faults make the server fail: here two 503s, which the client retries.
func ExampleServer_Fail() {
	srv := mpsynctest.NewServer()
	defer srv.Close()
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0", Times: 2})

	cfg := srv.ClientConfig()
	c, _ := workspace.New(cfg)
	_, err := c.Catalog(context.Background())
	fmt.Println(err, srv.Stats().CatalogRequests, srv.Stats().Faults)
	// Output:
	// <nil> 3 2
}

// LoadDir serves a directory of packs, as `mpsync serve-workspace` does.
func ExampleLoadDir() {
	opts, err := mpsynctest.LoadDir("../../testdata/workspace")
	if err != nil {
		panic(err)
	}
	srv := mpsynctest.NewServer(opts...)
	defer srv.Close()
	cat := srv.Catalog()
	for _, s := range cat.Solutions {
		fmt.Println(s.Name, s.Enabled)
	}
	fmt.Println(len(cat.Packs), "packs")
	// Output:
	// AlertManagement true
	// Updates true
	// ChangeTracking false
	// 8 packs
}

// NewWorkspace does not listen: its in-memory transport serves the client,
// which is what tests inside testing/synctest bubbles need (retries then
// wait in fake time).
func ExampleNewWorkspace() {
	srv := mpsynctest.NewWorkspace(
		mpsynctest.WithPack("Contoso.A", "1.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("Contoso.A", "1.0.0.0")),
	)
	cfg := srv.ClientConfig() // BaseURL InMemoryURL, Transport srv.Transport()
	c, _ := workspace.New(cfg)
	res, err := c.Catalog(context.Background())
	fmt.Println(cfg.BaseURL, err, res.Catalog.Packs[0].ID)
	// Output:
	// http://workspace.mpsync.test/ <nil> Contoso.A
}
