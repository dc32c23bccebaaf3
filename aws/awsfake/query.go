package awsfake

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// queryAPI serves a fake of an AWS query-protocol API (a form-encoded POST
// naming the Action and Version, answered in XML), as ELBv2 and Elastic
// Beanstalk speak it: it checks the request, consults the fake's faults,
// runs serve under the fake's lock and writes its result or error.
type queryAPI struct {
	version, xmlns string
	faults         *Faults
	mu             *sync.Mutex
	serve          func(op string, q queryForm) (any, error)
}

func (a queryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		queryError(w, a.xmlns, Fault{Status: http.StatusBadRequest, Code: "MalformedQueryString", Message: "expected a form-encoded POST"})
		return
	}
	q := queryForm(r.PostForm)
	op := q.get("Action")
	if v := q.get("Version"); v != a.version {
		queryError(w, a.xmlns, Fault{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Version must be " + a.version + ", got " + v})
		return
	}
	if fault, faulted := a.faults.Check(op); faulted {
		queryError(w, a.xmlns, fault)
		return
	}
	a.mu.Lock()
	out, err := a.serve(op, q)
	a.mu.Unlock()
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			queryError(w, a.xmlns, ae.Fault)
			return
		}
		queryError(w, a.xmlns, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
		return
	}
	queryReply(w, a.xmlns, op, out)
}

// queryReply writes result (nil: an empty result) as the body of an
// <Op>Response/<Op>Result document.
func queryReply(w http.ResponseWriter, xmlns, op string, result any) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, xmlns)
	if result != nil {
		if err := xml.NewEncoder(&b).EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			queryError(w, xmlns, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
			return
		}
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>awsfake</RequestId></ResponseMetadata></%sResponse>`, op)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// queryError writes f in the query protocol's error shape.
func queryError(w http.ResponseWriter, xmlns string, f Fault) {
	kind := "Sender"
	if f.Status >= 500 {
		kind = "Receiver"
	}
	var msg bytes.Buffer
	xml.EscapeText(&msg, []byte(f.Message))
	body := fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awsfake</RequestId></ErrorResponse>`,
		xmlns, kind, f.Code, msg.String())
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	w.Write([]byte(body))
}
