package svcname

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"web", true}, {"web-1_x.y:z", true}, {"a..b", true}, {strings.Repeat("x", MaxLen), true},
		{"", false}, {".", false}, {"..", false}, {"../x", false}, {"x/y", false}, {`x\y`, false},
		{"x\x00", false}, {"x\ty", false}, {".x", false}, {"\xc3", false}, {strings.Repeat("x", MaxLen+1), false},
	} {
		if err := Check(tt.name); (err == nil) != tt.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
