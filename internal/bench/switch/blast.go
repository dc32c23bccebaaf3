package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// blast measures maximum throughput as wrk does: conns keep-alive
// connections, each sending GET / and reading the answer as fast as it
// can, for du. A raw HTTP/1.1 client keeps the load generator's own cost low
// (a net/http client, or vegeta, saturates before the proxies do).
func blast(addr string, conns int, du time.Duration) (rps float64, failures int64, err error) {
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(du)
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	errs := make(chan error, conns)
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(deadline.Add(5 * time.Second))
			r := bufio.NewReaderSize(c, 16<<10)
			for time.Now().Before(deadline) {
				if _, err := c.Write(req); err != nil {
					failed.Add(1)
					return
				}
				status, err := readResponse(r)
				if err != nil {
					failed.Add(1)
					return
				}
				if status != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	start := time.Now()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return float64(ok.Load()) / time.Since(start).Seconds(), failed.Load(), nil
}

// readResponse reads one response with a Content-Length body and returns
// its status.
func readResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("short status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("response without Content-Length")
	}
	_, err = r.Discard(length)
	return status, err
}
