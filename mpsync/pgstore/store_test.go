package pgstore_test

import (
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pgstore"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return open(t, nil) })
}

// A store bound to a lease it holds passes the suite too: fencing lets the
// holder's writes through.
func TestConformanceFenced(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store {
		st := open(t, nil)
		ok, err := st.Lease("G").Acquire(t.Context(), "me", 3600e9)
		if err != nil || !ok {
			t.Fatalf("Acquire: %v %v", ok, err)
		}
		return st
	})
}

func TestMetaNamesAsDirStore(t *testing.T) {
	for _, n := range []string{"", ".x", "a", "runs.json", "a/b", "é", string(make([]byte, 129)), "x-y_z.1"} {
		if (pgstore.CheckMetaName(n) == nil) != (store.CheckMetaName(n) == nil) {
			t.Errorf("%q: pgstore and store disagree", n)
		}
	}
}
