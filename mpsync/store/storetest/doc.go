// Package storetest checks an implementation of [mpsync.Store] against the
// store contract, in one call, the way [testing/slogtest] checks a
// slog.Handler:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) mpsync.Store {
//			s := mystore.New(t.TempDir())
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run calls newStore once per subtest, so each subtest starts from an empty
// store. Beyond the contract written on [mpsync.Store], the suite holds an
// implementation to what [store.Dir] and [store.Memory] do:
//
//   - Import refuses, before reading a byte, an id that fails
//     [pack.CheckID] (errors.Is(err, pack.ErrInvalidID)), and a document that
//     differs from the request with an error wrapping [storage.ErrMismatch]
//     (and [pack.ErrIdentity] when the manifest's id or version differ). A
//     malformed document wraps [pack.ErrMalformed], a document that is not a
//     management pack [pack.ErrNotManagementPack]. Every refusal leaves List,
//     Get and Open answering exactly as before.
//   - ImportedAt is the request's Time when set; an import with no
//     Provenance.Owner is recorded as [storage.OwnerCustom].
//   - Importing the bytes that are already current keeps the previous version
//     as it was.
//   - Rollback and Remove of an id the store does not hold, and Rollback of a
//     pack without a previous version, wrap [storage.ErrNotFound].
//   - Meta record names follow [store.CheckMetaName]; others are refused with
//     an error wrapping [storage.ErrInvalidName].
//   - A cancelled context makes every method fail with an error wrapping
//     context.Canceled, and an import cancelled while its bytes stream in
//     changes nothing.
//   - Returned entries and meta records are copies: changing them does not
//     change the store.
//   - A store implementing [storage.Batcher] keeps the semantics written on
//     [storage.Batch]: nothing staged is visible before Commit, the batch
//     shows the store as it will be, a change refused when staged is left
//     out while the others commit, Discard changes nothing, and a finished
//     batch refuses further use with [storage.ErrBatchDone].
//
// The package also builds small, valid management packs for tests: [Pack],
// [PaddedPack] and [Request].
package storetest
