package workspace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

// A client fetches the catalog, then downloads and verifies a pack.
func Example() {
	srv := mpsynctest.NewServer(
		mpsynctest.WithPack("Microsoft.SystemCenter.Advisor", "7.1.10226.1239", catalog.ChannelBase, "",
			mpsynctest.Pack("Microsoft.SystemCenter.Advisor", "7.1.10226.1239")),
	)
	defer srv.Close()

	c, err := workspace.New(workspace.Config{
		BaseURL:     srv.URL(),
		WorkspaceID: srv.WorkspaceID(),
		Key:         srv.Key(),
		AllowHTTP:   true, // the fake server is plain http on loopback
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	res, err := c.Catalog(ctx)
	if err != nil {
		panic(err)
	}
	p := res.Catalog.Packs[0]
	fmt.Println(p.ID, p.Version, p.Channel)

	rc, err := c.Fetch(ctx, p)
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	m, err := pack.ReadManifest(rc)
	if err != nil {
		panic(err)
	}
	fmt.Println("verified:", m.ID, m.Version)

	again, _ := c.Catalog(ctx)
	fmt.Println("not modified:", again.NotModified)
	// Output:
	// Microsoft.SystemCenter.Advisor 7.1.10226.1239 base
	// verified: Microsoft.SystemCenter.Advisor 7.1.10226.1239
	// not modified: true
}

// Errors are classified by sentinels; *HTTPError carries the details.
func ExampleHTTPError() {
	srv := mpsynctest.NewServer()
	defer srv.Close()
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusNotFound, Code: "WorkspaceNotFound", Message: "no such workspace"})

	cfg := srv.ClientConfig()
	c, _ := workspace.New(cfg)
	_, err := c.Catalog(context.Background())

	var he *workspace.HTTPError
	if errors.As(err, &he) {
		fmt.Println(he.Status, he.Code, he.Message, errors.Is(err, workspace.ErrNotFound))
	}
	// Output:
	// 404 WorkspaceNotFound no such workspace true
}

// FetchAll downloads several packs in parallel and hands each verified
// pack to a callback, one at a time.
func ExampleClient_FetchAll() {
	srv := mpsynctest.NewServer(
		mpsynctest.WithPack("Contoso.A", "1.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("Contoso.A", "1.0.0.0")),
		mpsynctest.WithPack("Contoso.B", "2.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("Contoso.B", "2.0.0.0")),
	)
	defer srv.Close()
	c, _ := workspace.New(srv.ClientConfig())
	ctx := context.Background()
	res, _ := c.Catalog(ctx)

	total := 0
	err := c.FetchAll(ctx, res.Catalog.Packs, func(p catalog.Pack, r io.Reader) error {
		n, err := io.Copy(io.Discard, r)
		total += int(n)
		return err
	})
	fmt.Println(err, total == int(res.Catalog.Packs[0].Size+res.Catalog.Packs[1].Size))
	// Output:
	// <nil> true
}
