package awsfake

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the REST-XML framing of the Route 53 fake: the three
// operations' paths, the request and response documents, and errors, with
// the element names of the Route 53 API reference (version 2013-04-01).

const r53XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"

type xmlR53Alias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlR53Record struct {
	Name            string       `xml:"Name"`
	Type            string       `xml:"Type"`
	SetIdentifier   string       `xml:"SetIdentifier,omitempty"`
	Weight          *int64       `xml:"Weight,omitempty"`
	TTL             *int64       `xml:"TTL,omitempty"`
	ResourceRecords *[]string    `xml:"ResourceRecords>ResourceRecord>Value,omitempty"`
	AliasTarget     *xmlR53Alias `xml:"AliasTarget,omitempty"`
	HealthCheckID   string       `xml:"HealthCheckId,omitempty"`
}

func (x xmlR53Record) record() R53Record {
	r := R53Record{Name: x.Name, Type: x.Type, SetIdentifier: x.SetIdentifier, Weight: x.Weight, TTL: x.TTL, HealthCheckID: x.HealthCheckID}
	if x.ResourceRecords != nil {
		r.Values = *x.ResourceRecords
	}
	if a := x.AliasTarget; a != nil {
		r.Alias = &R53Alias{HostedZoneID: a.HostedZoneID, DNSName: a.DNSName, EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return r
}

func toXMLR53Record(r R53Record) xmlR53Record {
	x := xmlR53Record{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, TTL: r.TTL, HealthCheckID: r.HealthCheckID}
	if r.Values != nil {
		v := r.Values
		x.ResourceRecords = &v
	}
	if a := r.Alias; a != nil {
		x.AliasTarget = &xmlR53Alias{HostedZoneID: a.HostedZoneID, DNSName: a.DNSName, EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return x
}

type xmlChangeBatchRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string `xml:"Comment"`
		Changes []struct {
			Action            string       `xml:"Action"`
			ResourceRecordSet xmlR53Record `xml:"ResourceRecordSet"`
		} `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type xmlListRecordsResponse struct {
	XMLName              xml.Name       `xml:"ListResourceRecordSetsResponse"`
	XMLNS                string         `xml:"xmlns,attr"`
	ResourceRecordSets   []xmlR53Record `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool           `xml:"IsTruncated"`
	NextRecordName       string         `xml:"NextRecordName,omitempty"`
	NextRecordType       string         `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             string         `xml:"MaxItems"`
}

type xmlChangeResponse struct {
	XMLName    xml.Name
	XMLNS      string        `xml:"xmlns,attr"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

// ServeHTTP serves the Route 53 REST API.
func (f *Route53) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	parts := strings.Split(path, "/")
	var op string
	switch {
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodGet:
		op = "ListResourceRecordSets"
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodPost:
		op = "ChangeResourceRecordSets"
	case len(parts) == 2 && parts[0] == "change" && r.Method == http.MethodGet:
		op = "GetChange"
	default:
		r53Error(w, Fault{Status: http.StatusBadRequest, Code: "InvalidInput", Message: fmt.Sprintf("the Route 53 fake does not serve %s %s", r.Method, r.URL.Path)})
		return
	}
	if fault, faulted := f.Faults.Check(op); faulted {
		r53Error(w, fault)
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			r53Error(w, Fault{Status: http.StatusBadRequest, Code: "InvalidInput", Message: err.Error()})
			return
		}
	}
	f.mu.Lock()
	out, msgs, err := f.serve(op, parts[1], r, body)
	f.mu.Unlock()
	switch {
	case msgs != nil:
		r53InvalidChangeBatch(w, msgs)
	case err != nil:
		if ae, ok := err.(*apiError); ok {
			r53Error(w, ae.Fault)
			return
		}
		r53Error(w, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
	default:
		var b bytes.Buffer
		b.WriteString(xml.Header)
		if err := xml.NewEncoder(&b).Encode(out); err != nil {
			r53Error(w, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes())
	}
}

func (f *Route53) serve(op, id string, r *http.Request, body []byte) (any, []string, error) {
	switch op {
	case "GetChange":
		c, ok := f.changes[id]
		if !ok {
			return nil, nil, &apiError{Fault{Status: http.StatusNotFound, Code: "NoSuchChange", Message: "A change with the specified change ID does not exist: " + id}}
		}
		return xmlChangeResponse{XMLName: xml.Name{Local: "GetChangeResponse"}, XMLNS: r53XMLNS, ChangeInfo: f.changeInfo(id, c)}, nil, nil
	}
	z, ok := f.zones[id]
	if !ok {
		return nil, nil, &apiError{Fault{Status: http.StatusNotFound, Code: "NoSuchHostedZone", Message: "No hosted zone found with ID: " + id}}
	}
	if op == "ListResourceRecordSets" {
		return f.list(z, r)
	}
	var req xmlChangeBatchRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, nil, clientErr("InvalidInput", "could not parse the request: %v", err)
	}
	if len(req.ChangeBatch.Changes) == 0 {
		return nil, nil, clientErr("InvalidInput", "ChangeBatch.Changes must have at least one change")
	}
	ops := make([]r53Op, 0, len(req.ChangeBatch.Changes))
	for _, c := range req.ChangeBatch.Changes {
		ops = append(ops, r53Op{action: c.Action, rec: c.ResourceRecordSet.record()})
	}
	if msgs, err := z.apply(ops); err != nil {
		return nil, msgs, err
	}
	f.seq++
	cid := fmt.Sprintf("C%019d", f.seq)
	c := r53Change{submitted: f.opts.Now(), comment: req.ChangeBatch.Comment}
	f.changes[cid] = c
	return xmlChangeResponse{XMLName: xml.Name{Local: "ChangeResourceRecordSetsResponse"}, XMLNS: r53XMLNS, ChangeInfo: f.changeInfo(cid, c)}, nil, nil
}

func (f *Route53) changeInfo(id string, c r53Change) xmlChangeInfo {
	return xmlChangeInfo{ID: "/change/" + id, Status: f.changeStatus(c), SubmittedAt: c.submitted.UTC().Format(time.RFC3339Nano), Comment: c.comment}
}

// list serves ListResourceRecordSets: records from (name, type,
// identifier) on, in Route 53's order, at most maxitems (300 by default).
func (f *Route53) list(z *r53Zone, r *http.Request) (any, []string, error) {
	q := r.URL.Query()
	maxItems := 300
	if s := q.Get("maxitems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, nil, clientErr("InvalidInput", "maxitems must be a positive integer, got %q", s)
		}
		maxItems = min(n, 300)
	}
	name, typ, ident := q.Get("name"), q.Get("type"), q.Get("identifier")
	if typ != "" && name == "" {
		return nil, nil, clientErr("InvalidInput", "The type parameter requires the name parameter")
	}
	if ident != "" && typ == "" {
		return nil, nil, clientErr("InvalidInput", "The identifier parameter requires the type parameter")
	}
	start := R53Record{Name: fqdn(name), Type: typ, SetIdentifier: ident}
	out := xmlListRecordsResponse{XMLNS: r53XMLNS, MaxItems: strconv.Itoa(maxItems), ResourceRecordSets: []xmlR53Record{}}
	for _, rec := range z.records {
		if name != "" && compareRecords(rec, start) < 0 {
			continue
		}
		if len(out.ResourceRecordSets) == maxItems {
			out.IsTruncated = true
			out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = rec.Name, rec.Type, rec.SetIdentifier
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, toXMLR53Record(rec))
	}
	return out, nil, nil
}

// r53Error writes f in Route 53's REST-XML error shape.
func r53Error(w http.ResponseWriter, f Fault) {
	kind := "Sender"
	if f.Status >= 500 {
		kind = "Receiver"
	}
	var msg bytes.Buffer
	xml.EscapeText(&msg, []byte(f.Message))
	body := fmt.Sprintf(`<?xml version="1.0"?>`+"\n"+`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awsfake</RequestId></ErrorResponse>`,
		r53XMLNS, kind, f.Code, msg.String())
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	w.Write([]byte(body))
}

// r53InvalidChangeBatch writes the InvalidChangeBatch error document, which
// lists one message per failed check.
func r53InvalidChangeBatch(w http.ResponseWriter, msgs []string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0"?>`+"\n"+`<InvalidChangeBatch xmlns="%s"><Messages>`, r53XMLNS)
	for _, m := range msgs {
		b.WriteString("<Message>")
		xml.EscapeText(&b, []byte(m))
		b.WriteString("</Message>")
	}
	b.WriteString(`</Messages><RequestId>awsfake</RequestId></InvalidChangeBatch>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(b.Bytes())
}
