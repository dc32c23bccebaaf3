package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"=> web:1 is live in slot A",
		"hook integration-tests answered IN_PROGRESS",
		"A [##########==========] B A=50% B=50% test=B",
		"=> web:2 is live in slot B",
		"monitor fired: web-5xx-rate",
		"=> web:3 rolled back (MONITOR); web:2 is live",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
