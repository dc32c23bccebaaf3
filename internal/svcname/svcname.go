// Package svcname checks that a service name is safe to use as part of a file
// name, so that no name can reach outside the directory it is meant for.
package svcname

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest service name accepted, in bytes. File names are
// limited to 255 bytes on common file systems and the packages add suffixes.
const MaxLen = 200

// Check returns an error if name cannot be used in a file name: empty, too
// long, not UTF-8, containing a path separator or a control character
// (NUL included), or starting with a dot (which also rules out "." and "..",
// and keeps service files apart from the hidden files the packages write).
func Check(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case len(name) > MaxLen:
		return fmt.Errorf("%d bytes long, more than %d", len(name), MaxLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%q starts with a dot", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%q contains a path separator", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%q contains a control character", name)
	}
	return nil
}

// Fix is the advice given with a Check error.
const Fix = `use letters, digits and "-_.:", not starting with a dot, at most 200 bytes`
