package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/bluegreen-go/bluegreen/local/filestore"
)

// A Store keeps one record per service; every Save is a compare-and-swap on
// the version, so a writer holding a stale copy loses instead of
// overwriting, in this process or any other.
func Example() {
	dir, err := os.MkdirTemp("", "bluegreen-state-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := filestore.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}

	rec, err := store.Load(ctx, "web") // no state yet: version 0
	if err != nil {
		log.Fatal(err)
	}
	rec.Lease = driver.Lease{Owner: "deployer-1"}
	v, err := store.Save(ctx, rec)
	fmt.Println("saved version", v, err)

	// rec still says version 0: a second writer with that copy loses.
	rec.Lease.Owner = "deployer-2"
	_, err = store.Save(ctx, rec)
	fmt.Println("stale save is a conflict:", errors.Is(err, bluegreen.ErrConflict))

	// A damaged state file is reported, kept, and moved aside only on request.
	path, _ := store.Path("web")
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		log.Fatal(err)
	}
	_, err = store.Load(ctx, "web")
	var corrupt *filestore.CorruptError
	fmt.Println("corrupt:", errors.As(err, &corrupt), filepath.Base(corrupt.Path))
	if _, err := store.Quarantine(ctx, "web"); err != nil {
		log.Fatal(err)
	}
	rec, err = store.Load(ctx, "web")
	fmt.Println("after quarantine, version", rec.Version, err)
	// Output:
	// saved version 1 <nil>
	// stale save is a conflict: true
	// corrupt: true web.json
	// after quarantine, version 0 <nil>
}
