// Package admin is the admin API of a bluegreen proxy daemon: the server
// (Handler, and Start for a listener of its own on loopback or a unix
// socket) and its Client, which implements the same interfaces as the
// proxy.Proxy it drives (bluegreen.Router, Verifier and Monitor, and
// proxy.TargetRegistrar), so that a short-lived deploy command can deploy
// behind a long-running proxy.
//
// The admin API's endpoints:
//
//	GET  /healthz                                        "ok"
//	GET  /metrics                                        Prometheus text
//	GET  /v1/services                                    {"services": [...]}
//	GET  /v1/services/{service}/routes                   bluegreen.Routes
//	PUT  /v1/services/{service}/routes                   body bluegreen.Routes
//	POST /v1/services/{service}/verify                   body bluegreen.Routes; {"inForce": bool}
//	GET  /v1/services/{service}/config                   ServiceConfig
//	PUT  /v1/services/{service}/config                   body ServiceConfig
//	GET  /v1/services/{service}/slots/{slot}/targets     {"targets": [TargetStatus...]}
//	PUT  /v1/services/{service}/slots/{slot}/targets     body {"targets": ["host:port", ...]}
//	POST /v1/services/{service}/slots/{slot}/drain       waits for the drain
//	GET  /v1/services/{service}/slots/{slot}/window?n=N  Window
//	GET  /v1/services/{service}/slots/{slot}/metrics     Metrics
//
// Errors are JSON: {"error": message, "code": bluegreen code name}, plus
// "field", "problem" and "fix" for bad input.
package admin
