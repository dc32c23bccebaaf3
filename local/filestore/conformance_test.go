package filestore_test

import (
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/local/filestore"
)

func TestStoreConformance(t *testing.T) {
	bluegreentest.TestStore(t, func(t *testing.T) bluegreen.Store {
		s, err := filestore.Open(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
