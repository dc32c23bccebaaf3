package httphook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers that authenticate a request.
const (
	// TimestampHeader carries the time of the call in Unix seconds.
	TimestampHeader = "X-Bluegreen-Timestamp"
	// SignatureHeader carries "v1=" and the hex HMAC-SHA256 of
	// timestamp + "." + body.
	SignatureHeader = "X-Bluegreen-Signature"
)

// DefaultMaxAge is how far a request's timestamp may be from the receiver's
// clock, either way, before Verify refuses it.
const DefaultMaxAge = 5 * time.Minute

// MinSecretLen is the shortest secret accepted: 16 bytes. Use 32 random bytes.
const MinSecretLen = 16

// signaturePrefix marks the signature scheme: HMAC-SHA256 over
// timestamp "." body.
const signaturePrefix = "v1="

// Sign returns the value of SignatureHeader for body sent at the Unix time
// timestamp (the value of TimestampHeader).
func Sign(secret []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify, for errors.Is.
var (
	// ErrBadSignature is a missing or wrong signature.
	ErrBadSignature = errors.New("httphook: signature does not match")
	// ErrStale is a timestamp missing, malformed or outside the window.
	ErrStale = errors.New("httphook: timestamp outside the accepted window")
)

// Verify checks that header carries a timestamp within maxAge of now and a
// signature of body made with secret. maxAge <= 0 means DefaultMaxAge.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	ts := header.Get(TimestampHeader)
	sec, err := parseTimestamp(ts)
	if err != nil {
		return fmt.Errorf("%w: %s %v", ErrStale, TimestampHeader, err)
	}
	// Compare in seconds, so that no duration overflows.
	if skew := now.Unix() - sec; skew > int64(maxAge/time.Second) || -skew > int64(maxAge/time.Second) {
		return fmt.Errorf("%w: %s is %ds from now, beyond %v", ErrStale, TimestampHeader, skew, maxAge)
	}
	want := mac(secret, ts, body)
	for v := range strings.SplitSeq(header.Get(SignatureHeader), ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(v), signaturePrefix)
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}

// parseTimestamp reads decimal Unix seconds: digits only, no sign.
func parseTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("missing")
	}
	if len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("is not decimal Unix seconds")
	}
	return strconv.ParseInt(s, 10, 64)
}
