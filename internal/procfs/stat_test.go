package procfs

import (
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stat
		ok   bool
	}{
		{"plain", "42 (app) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0", Stat{"S", 42, 987654}, true},
		{"name with spaces and parentheses", "7 (a (b) c) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", Stat{"Z", 9, 5}, true},
		{"no name", "7 S 1 9", Stat{}, false},
		{"truncated", "7 (app) S 1 9 9", Stat{}, false},
		{"bad number", "7 (app) S 1 x 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5", Stat{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat([]byte(tt.in))
		if ok != tt.ok || cmp.Diff(tt.want, got) != "" {
			t.Errorf("%s: parseStat = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReadStatOfSelf(t *testing.T) {
	if want := runtime.GOOS == "linux" || runtime.GOOS == "darwin"; Supported != want {
		t.Fatalf("Supported = %v on %s, want %v", Supported, runtime.GOOS, want)
	}
	if !Supported {
		if _, ok := ReadStat(os.Getpid()); ok {
			t.Error("ReadStat(self) answered where it is not supported")
		}
		t.Skipf("ReadStat is not supported on %s", runtime.GOOS)
	}
	st, ok := ReadStat(os.Getpid())
	if !ok || st.Zombie() || st.StartTicks == 0 {
		t.Errorf("ReadStat(self) = %+v, %v", st, ok)
	}
	if st.PGID <= 0 {
		t.Errorf("ReadStat(self).PGID = %d", st.PGID)
	}
	if again, _ := ReadStat(os.Getpid()); again.StartTicks != st.StartTicks {
		t.Errorf("StartTicks of self changed from %d to %d", st.StartTicks, again.StartTicks)
	}
	if _, ok := ReadStat(1 << 30); ok {
		t.Error("a pid that cannot exist was read")
	}
}
