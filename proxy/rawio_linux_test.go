package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// rawPair returns the two ends of a loopback TCP connection, the first
// wrapped in rawIO.
func rawPair(t *testing.T) (*net.TCPConn, *rawIO, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { nc.Close(); peer.Close() })
	nc.SetDeadline(time.Now().Add(testTimeout))
	peer.SetDeadline(time.Now().Add(testTimeout))
	r := newRawIO(nc)
	if r == nil {
		t.Fatal("newRawIO(*net.TCPConn) = nil")
	}
	return nc.(*net.TCPConn), r, peer
}

// TestRawIOWritesEverything: a write larger than the socket buffers waits
// for room under the poller and delivers every byte, in order.
func TestRawIOWritesEverything(t *testing.T) {
	nc, r, peer := rawPair(t)
	nc.SetWriteBuffer(4 << 10)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	n, err := r.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	nc.CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("peer read %d bytes, not the %d written", len(b), len(want))
	}
}

// TestRawIOReadEnds: reads report the peer's close as io.EOF, a reset and
// a use after Close as errors net.Conn would give, and a passed deadline
// as a timeout.
func TestRawIOReadEnds(t *testing.T) {
	tests := []struct {
		name  string
		setup func(nc *net.TCPConn, peer net.Conn)
		check func(error) bool
	}{
		{"peer closes", func(_ *net.TCPConn, peer net.Conn) { peer.Close() },
			func(err error) bool { return err == io.EOF }},
		{"peer resets", func(_ *net.TCPConn, peer net.Conn) { peer.(*net.TCPConn).SetLinger(0); peer.Close() },
			func(err error) bool { return err != nil && err != io.EOF }},
		{"deadline passed", func(nc *net.TCPConn, _ net.Conn) { nc.SetReadDeadline(time.Now().Add(-time.Second)) },
			func(err error) bool { var ne net.Error; return errors.As(err, &ne) && ne.Timeout() }},
		{"closed", func(nc *net.TCPConn, _ net.Conn) { nc.Close() },
			func(err error) bool { return errors.Is(err, net.ErrClosed) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, r, peer := rawPair(t)
			tt.setup(nc, peer)
			n, err := r.Read(make([]byte, 16))
			if n != 0 || !tt.check(err) {
				t.Errorf("Read = %d, %v", n, err)
			}
		})
	}
}

// TestRawIOSendThenWait: the request always goes out, whether the answer
// comes, the deadline passes while waiting, or it had passed already; the
// answer is then read as usual.
func TestRawIOSendThenWait(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // relative read deadline set before; 0 for none
		answer   bool
	}{
		{"answered", 0, true},
		{"deadline passes while waiting", 20 * time.Millisecond, false},
		{"deadline passed before", -time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, r, peer := rawPair(t)
			if tt.deadline != 0 {
				nc.SetReadDeadline(time.Now().Add(tt.deadline))
			}
			go func() {
				b := make([]byte, 4)
				if _, err := io.ReadFull(peer, b); err == nil && tt.answer {
					peer.Write([]byte("pong"))
				}
			}()
			if err := r.sendThenWait(func() error { _, err := r.Write([]byte("ping")); return err }); err != nil {
				t.Fatalf("sendThenWait: %v", err)
			}
			if !tt.answer {
				// The request went out all the same: the peer answers
				// it only now.
				nc.SetReadDeadline(time.Now().Add(testTimeout))
				peer.Write([]byte("late"))
			}
			b := make([]byte, 4)
			if _, err := io.ReadFull(r, b); err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{true: "pong", false: "late"}[tt.answer]
			if string(b) != want {
				t.Errorf("read %q, want %q", b, want)
			}
		})
	}
}

// TestRawIOSendThenWaitReportsSendError: a failed send is returned.
func TestRawIOSendThenWaitReportsSendError(t *testing.T) {
	_, r, _ := rawPair(t)
	boom := errors.New("boom")
	if err := r.sendThenWait(func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("sendThenWait = %v, want boom", err)
	}
}

// TestRawIOPollWakesAfterDrain: inside poll, a step that drained the
// socket waits without reading again, and bytes arriving after that read
// (while the step was still running, or after it returned) wake it.
func TestRawIOPollWakesAfterDrain(t *testing.T) {
	for _, during := range []bool{true, false} {
		name := map[bool]string{true: "sent while the step runs", false: "sent while it waits"}[during]
		t.Run(name, func(t *testing.T) {
			_, r, peer := rawPair(t)
			drainedOnce := make(chan struct{})
			sent := make(chan struct{})
			go func() {
				peer.Write([]byte("a"))
				<-drainedOnce
				peer.Write([]byte("b"))
				close(sent)
			}()
			var got []byte
			calls, callsAtA := 0, 0
			buf := make([]byte, 64)
			err := r.poll(func() bool {
				calls++
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if errors.Is(err, errWouldBlock) || (err == nil && r.drained()) {
						break
					}
					if err != nil {
						t.Errorf("Read: %v", err)
						return true
					}
				}
				if string(got) == "ab" {
					return true
				}
				if string(got) == "a" && callsAtA == 0 {
					callsAtA = calls
					close(drainedOnce)
					if during {
						<-sent // "b" arrives before the step returns
					}
				}
				return false
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "ab" {
				t.Errorf("read %q, want %q", got, "ab")
			}
			if calls <= callsAtA {
				t.Errorf("step ran %d times, the last time it read \"a\" being the %d: it never waited", calls, callsAtA)
			}
		})
	}
}
