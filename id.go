package bluegreen

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
)

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/pid-%d/%s", host, os.Getpid(), randomID()[:6])
}
