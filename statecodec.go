package bluegreen

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The state document is written on every save of every deployment, so it
// is encoded by hand, appending to one buffer, instead of through
// encoding/json's reflection (a third of a deployment's CPU time over the
// in-memory fakes). It is read back with encoding/json, which is the
// oracle FuzzStateCodec checks this encoder against. Embedded JSON
// (revision specs, snapshots, hook details) is checked when it enters the
// state, so it is copied verbatim here.

// encode returns the document for a record.
func (s serviceState) encode() (json.RawMessage, error) {
	return s.appendTo(make([]byte, 0, 1024)), nil
}

// appendTo appends the document to b. A run encodes every save into the
// same buffer: stores keep their own copy of what they are given.
func (s serviceState) appendTo(b []byte) []byte {
	b = append(b, `{"format":`...)
	b = strconv.AppendInt(b, stateFormat, 10)
	if s.Live != nil {
		b = append(b, `,"live":`...)
		b = appendEnv(b, s.Live)
	}
	if d := s.Deployment; d != nil {
		b = append(b, `,"deployment":`...)
		b = appendDeployState(b, d)
	}
	return append(b, '}')
}

func appendDeployState(b []byte, d *deployState) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, d.ID)
	b = appendStringField(b, "phase", string(d.Phase))
	b = appendStringField(b, "stage", stageText(d.Stage))
	b = appendIntField(b, "step", int64(d.Step))
	if d.Blue != nil {
		b = append(b, `,"blue":`...)
		b = appendEnv(b, d.Blue)
	}
	b = append(b, `,"green":`...)
	b = appendEnv(b, &d.Green)
	b = appendBoolField(b, "adopted", d.Adopted)
	b = append(b, `,"routes":`...)
	b = appendRoutes(b, d.Routes)
	b = append(b, `,"before":`...)
	b = appendRoutes(b, d.Before)
	if len(d.Steps) > 0 {
		b = append(b, `,"steps":[`...)
		for i, st := range d.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"green":`...)
			b = strconv.AppendInt(b, int64(st.Green), 10)
			b = appendIntField(b, "wait", int64(st.Wait))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendIntField(b, "bakeTime", int64(d.BakeTime))
	b = appendTimeField(b, "stepStarted", d.StepStarted)
	b = appendTimeField(b, "bakeUntil", d.BakeUntil)
	b = appendBoolField(b, "shiftDone", d.ShiftDone)
	b = appendBoolField(b, "primary", d.Primary)
	if r := d.Rollback; r != nil {
		b = append(b, `,"rollback":{"trigger":`...)
		b = appendString(b, string(r.Trigger))
		b = appendStringField(b, "by", r.By)
		b = appendStringField(b, "reason", r.Reason)
		b = appendStringField(b, "stage", stageText(r.Stage))
		b = appendIntField(b, "step", int64(r.Step))
		b = appendTimeField(b, "at", r.At)
		b = append(b, '}')
	}
	b = appendRawField(b, "prepared", d.Prepared)
	b = appendBoolField(b, "restored", d.Restored)
	if len(d.Hooks) > 0 {
		b = append(b, `,"hooks":[`...)
		for i, h := range d.Hooks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, h.Name)
			b = appendStringField(b, "stage", stageText(h.Stage))
			b = appendIntField(b, "step", int64(h.Step))
			b = appendIntField(b, "attempt", int64(h.Attempt))
			b = appendRawField(b, "details", h.Details)
			b = appendTimeField(b, "next", h.Next)
			b = appendTimeField(b, "deadline", h.Deadline)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendRawField(b, "engine", d.Engine)
	if d.Group != nil {
		b = appendGroup(b, d.Group)
	}
	b = appendTimeField(b, "started", d.Started)
	b = appendTimeField(b, "updated", d.Updated)
	return append(b, '}')
}

func appendEnv(b []byte, e *Environment) []byte {
	b = append(b, `{"service":`...)
	b = appendString(b, e.Service)
	b = appendStringField(b, "slot", string(e.Slot))
	b = append(b, `,"revision":{"name":`...)
	b = appendString(b, e.Revision.Name)
	b = appendRawField(b, "spec", e.Revision.Spec)
	b = append(b, '}')
	b = appendStringField(b, "deploymentId", e.DeploymentID)
	return append(b, '}')
}

func appendRoutes(b []byte, r Routes) []byte {
	b = append(b, `{"production":{"a":`...)
	b = strconv.AppendInt(b, int64(r.Production.A), 10)
	b = append(b, `,"b":`...)
	b = strconv.AppendInt(b, int64(r.Production.B), 10)
	b = append(b, '}')
	b = appendStringField(b, "test", string(r.Test))
	return append(b, '}')
}

// stageText is what Stage.MarshalText writes: the name, or nothing for 0.
// An invalid stage is never stored (the engine only sets valid ones); it
// would be written as nothing.
func stageText(s Stage) string {
	if !s.Valid() {
		return ""
	}
	return stageNames[s]
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendIntField(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func appendBoolField(b []byte, name string, v bool) []byte {
	if !v {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, `":true`...)
}

func appendTimeField(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendRawField copies embedded JSON, which was checked when it entered
// the state.
func appendRawField(b []byte, name string, v json.RawMessage) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return append(b, v...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (without its HTML escaping, which a state document does not need):
// quotes, backslashes and control characters escaped, invalid UTF-8
// replaced by U+FFFD, and U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
