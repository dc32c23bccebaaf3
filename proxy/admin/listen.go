package admin

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// listen listens on a TCP address or, for "unix:/path", on a unix
// socket only its owner may use. The socket is bound under a temporary name,
// restricted to mode 0600, then renamed into place, so there is no moment
// when others could connect. The returned cleanup removes the socket.
func listen(addr string) (net.Listener, func(), error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		ln, err := net.Listen("tcp", addr)
		return ln, nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, nil, fmt.Errorf("another process is serving %s; stop it or choose another socket path", path)
	}
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the socket moves; cleanup removes it by its final name
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, nil, err
	}
	return unixListener{ul, path}, func() { os.Remove(path) }, nil
}

// unixListener reports the socket's final path as its address.
type unixListener struct {
	*net.UnixListener
	path string
}

// Addr returns the socket's path.
func (l unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }
