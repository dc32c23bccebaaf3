//go:build !windows

package filestore

import "os"

// replaceFile renames from over to, atomically: rename(2).
func replaceFile(from, to string) error { return os.Rename(from, to) }

// removeFile removes the file at path: unlink(2).
func removeFile(path string) error { return os.Remove(path) }

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
