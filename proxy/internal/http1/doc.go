// Package http1 is the proxy's only HTTP/1.1 wire code: request and response
// heads read straight from a connection's buffer, request heads written to
// an instance, response heads and bodies (chunked framing, trailers) relayed
// to a client, and the field checks of RFC 9112 and RFC 9110.
//
// Everything here is fenced against net/http, which serves as the oracle of
// the differential fuzz targets beside this code: a request head that
// ParseRequest takes, net/http's server reads the same way; an answer that
// ScanResponse and CopyBody pass on, net/http's Transport passes on the same
// way (or it is refused, and the proxy answers 502). Anything this package
// is not sure of is refused, and its caller hands the exchange to net/http.
//
// Nothing here allocates per message on the ordinary path.
package http1
