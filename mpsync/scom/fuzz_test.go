package scom_test

import (
	"bytes"
	"errors"
	"testing"

	"mpsync.dev/mpsync/scom"
)

// FuzzReadInventory feeds exported inventories, CSV and JSON, good and
// broken, to the reader: it never panics, refuses with ErrInvalidInventory,
// and what it accepts is a non-empty inventory of valid ids.
func FuzzReadInventory(f *testing.F) {
	f.Add([]byte("#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack\r\n\"Name\",\"Version\"\r\n\"System.Library\",\"7.5.8501.0\"\r\n"))
	f.Add([]byte("\"Name\",\"Version\"\n\"Microsoft.SystemCenter.Library\",\"10.19.10050.0\"\n"))
	f.Add([]byte(`[{"Name":"System.Library","Version":{"Major":7,"Minor":5,"Build":8501,"Revision":0,"MajorRevision":0,"MinorRevision":0}}]`))
	f.Add([]byte(`{"Name":"System.Library","Version":"7.5.8501.0"}`))
	f.Add([]byte("\xff\xfe\"\x00N\x00\"\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := scom.ReadInventory(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, scom.ErrInvalidInventory) {
				t.Fatalf("refused without ErrInvalidInventory: %v", err)
			}
			return
		}
		if len(inv) == 0 {
			t.Fatal("an accepted inventory is empty")
		}
	})
}
