package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Logger receives a line when a file is quarantined; nothing is logged if nil.
	Logger *slog.Logger
	// Now supplies the time for quarantine file names; time.Now if nil.
	Now func() time.Time
}

// Store is a bluegreen.Store backed by one JSON file per service in a
// directory. Any number of Stores, in any number of processes, may use the
// same directory at once. Its methods are safe for concurrent use.
type Store struct {
	dir string
	log *slog.Logger
	now func() time.Time
	// lockBusy, if set, is called with the lock file each time lock finds
	// it locked by another, so that tests can order events around a waiting
	// locker without sleeping.
	lockBusy func(*os.File)
}

var (
	_ bluegreen.Store = (*Store)(nil)
	_ driver.Lister   = (*Store)(nil)
	_ driver.Deleter  = (*Store)(nil)
)

// Open returns a Store keeping its files in dir, which is created (mode
// 0700) if it does not exist. opts may be nil.
func Open(dir string, opts *Options) (*Store, error) {
	if dir == "" {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{
			Field: "dir", Problem: "empty", Fix: "name the directory that holds the state files, such as /var/lib/deploy/state",
		})
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{
			Field: "dir", Problem: dir + " is not a directory", Fix: "name a directory",
		})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: creating the state directory: %w", err)
	}
	s := &Store{dir: dir, log: slog.New(slog.DiscardHandler), now: time.Now}
	if opts != nil {
		if opts.Logger != nil {
			s.log = opts.Logger
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
	}
	return s, nil
}

// Dir returns the directory of the state files.
func (s *Store) Dir() string { return s.dir }

// Path returns the state file of service. It fails only if the name is not
// a valid service name.
func (s *Store) Path(service string) (string, error) {
	if err := checkService(service); err != nil {
		return "", err
	}
	return s.path(service), nil
}

func (s *Store) path(service string) string     { return filepath.Join(s.dir, service+".json") }
func (s *Store) lockPath(service string) string { return filepath.Join(s.dir, service+".lock") }

// tmpPath is where the next content of service's state file is written
// before the rename. One fixed name suffices because only the holder of the
// service's lock writes it, and it starts with a dot, which service names
// cannot, so it never collides with a state file.
func (s *Store) tmpPath(service string) string { return filepath.Join(s.dir, "."+service+".json.tmp") }

func checkService(service string) error {
	if err := svcname.Check(service); err != nil {
		return bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{
			Field: "service", Problem: err.Error(), Fix: svcname.Fix,
		})
	}
	return nil
}

// Load returns the record of service, or Record{Service: service} if it has
// no state file yet. It takes no lock: a state file is only ever replaced
// whole, by a rename.
func (s *Store) Load(ctx context.Context, service string) (driver.Record, error) {
	if err := ctx.Err(); err != nil {
		return driver.Record{}, err
	}
	if err := checkService(service); err != nil {
		return driver.Record{}, err
	}
	return s.read(service)
}

// Save writes rec if the stored version of rec.Service is still rec.Version
// (0: no state file yet) and returns the new version, rec.Version+1. If the
// stored version differs, it writes nothing and returns an error with code
// bluegreen.CodeConflict. If the state file is corrupt, it writes nothing
// and returns the *CorruptError.
func (s *Store) Save(ctx context.Context, rec driver.Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkService(rec.Service); err != nil {
		return 0, err
	}
	if rec.Version < 0 {
		return 0, bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{
			Field: "Record.Version", Problem: fmt.Sprintf("%d is negative", rec.Version),
			Fix: "pass the version Load returned",
		})
	}
	unlock, err := s.lock(ctx, rec.Service)
	if err != nil {
		return 0, err
	}
	defer unlock()
	cur, err := s.read(rec.Service)
	if err != nil {
		return 0, err
	}
	if cur.Version != rec.Version {
		return 0, bluegreen.NewError(bluegreen.CodeConflict,
			fmt.Errorf("filestore: %s is at version %d, not %d", rec.Service, cur.Version, rec.Version))
	}
	rec.Version++
	data, err := encodeRecord(rec)
	if err != nil {
		return 0, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("filestore: %w", err))
	}
	if len(data) > maxFileSize {
		// Load would take such a file for a corrupt one.
		return 0, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf(
			"filestore: the record of %s is %d bytes encoded, more than the %d a state file may hold", rec.Service, len(data), maxFileSize))
	}
	if err := s.writeAtomic(rec.Service, data); err != nil {
		return 0, err
	}
	return rec.Version, nil
}

// read loads and decodes the state file of service.
func (s *Store) read(service string) (driver.Record, error) {
	path := s.path(service)
	data, err := readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return driver.Record{Service: service}, nil
	case errors.Is(err, fs.ErrPermission):
		return driver.Record{}, bluegreen.NewError(bluegreen.CodePermission, fmt.Errorf(
			"filestore: cannot read state file %s: %w; give the deploying user read and write access to it and to %s",
			path, err, s.dir))
	case err != nil:
		return driver.Record{}, fmt.Errorf("filestore: cannot read state file %s: %w; "+
			"if it is not a regular file, move it aside", path, err)
	}
	rec, err := decodeRecord(service, data)
	if err != nil {
		return driver.Record{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, &CorruptError{Path: path, Err: err})
	}
	return rec, nil
}

// readFile reads at most maxFileSize+1 bytes of a regular file, so that a
// huge file is reported (as corrupt) rather than read into memory.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (mode %s)", path, fi.Mode())
	}
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// writeAtomic replaces the state file of service with data: temporary file,
// fsync, rename, directory fsync. The caller holds the service's lock.
func (s *Store) writeAtomic(service string, data []byte) (err error) {
	tmp := s.tmpPath(service)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("filestore: writing %s: %w", service, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp) // best effort: the next Save truncates it anyway
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("filestore: writing %s: %w", tmp, err)
	}
	if err := replaceFile(tmp, s.path(service)); err != nil {
		return fmt.Errorf("filestore: replacing %s: %w", s.path(service), err)
	}
	// Without this the rename itself may be lost in a power failure, and the
	// old record would come back.
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("filestore: %s was replaced but syncing %s failed, so the change may not survive a power loss: %w",
			s.path(service), s.dir, err)
	}
	return nil
}

// List returns the services that have a state file, sorted by name.
func (s *Store) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: listing %s: %w", s.dir, err)
	}
	var services []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && svcname.Check(name) == nil {
			services = append(services, name)
		}
	}
	return services, nil
}
