package awsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file and lambda_alias.go fake the Lambda control plane the
// lambdaalias adapter calls (REST JSON, API version 2015-03-31), after the
// AWS Lambda API reference: UpdateFunctionCode, GetFunctionConfiguration,
// PublishVersion and DeleteFunction here; ListAliases, CreateAlias,
// UpdateAlias and DeleteAlias in lambda_alias.go. A function's code update
// is InProgress for the fake's update delay, then Successful (or Failed, for
// code registered with FailUpdates, with the previous code kept, as Lambda
// keeps it).

// LambdaFunction is a function of the fake's control plane.
type LambdaFunction struct {
	// Name is the function's name.
	Name string
	// PackageType is "Zip" (the default) or "Image".
	PackageType string
	// Code is where $LATEST's code came from: "s3://bucket/key", an image
	// URI, or "zip:" and the base64 SHA-256 of a zip file.
	Code string
}

// LambdaVersion is a published version of a function.
type LambdaVersion struct {
	// Version is the version number.
	Version string
	// Code is where its code came from (see LambdaFunction.Code).
	Code string
	// Description is the description it was published with.
	Description string
	// State is "Active", or "Failed" for a version FailVersion failed.
	State string
}

// lambdaFn is a function's control-plane state.
type lambdaFn struct {
	name, packageType string
	code              lambdaCode // $LATEST's code
	status            string     // LastUpdateStatus: Successful, InProgress, Failed
	statusReason      string
	statusReasonCode  string
	pending           lambdaCode // the code an update in progress installs
	pendingFail       [2]string  // reason code and reason it fails with, if it does
	doneAt            time.Time  // when the update in progress ends
	revision          int
	versions          map[int]*lambdaVersion
	lastVersion       int
	aliases           map[string]*lambdaAlias
}

type lambdaCode struct{ location, sha string }

type lambdaVersion struct {
	n           int
	code        lambdaCode
	description string
	state       string
	stateReason string
	revision    int
}

// lambdaControl is the control-plane state of a Lambda fake.
type lambdaControl struct {
	fns         map[string]*lambdaFn
	updateDelay time.Duration
	failCode    map[string][2]string
	revisions   int
}

// control returns the control-plane state; l.mu must be held.
func (l *Lambda) control() *lambdaControl {
	if l.ctl == nil {
		l.ctl = &lambdaControl{fns: map[string]*lambdaFn{}, failCode: map[string][2]string{}}
	}
	return l.ctl
}

// SetUpdateDelay sets how long a code update stays InProgress before it
// ends; 0 (the default) ends it at once.
func (l *Lambda) SetUpdateDelay(d time.Duration) {
	l.mu.Lock()
	l.control().updateDelay = d
	l.mu.Unlock()
}

// FailUpdates makes code updates from location (see LambdaFunction.Code)
// end Failed with the reason code (such as "ImageNotFound") and reason.
func (l *Lambda) FailUpdates(location, reasonCode, reason string) {
	l.mu.Lock()
	l.control().failCode[location] = [2]string{reasonCode, reason}
	l.mu.Unlock()
}

// AddFunction creates a function with its $LATEST code and no versions or
// aliases. Invoke serves only the functions SetFunction gives Go code.
func (l *Lambda) AddFunction(f LambdaFunction) error {
	if !lambdaNameRE(f.Name) {
		return fmt.Errorf("awsfake: function name %q is not valid", f.Name)
	}
	if f.PackageType == "" {
		f.PackageType = "Zip"
	}
	if f.PackageType != "Zip" && f.PackageType != "Image" {
		return fmt.Errorf("awsfake: package type %q: want Zip or Image", f.PackageType)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.control()
	if _, ok := c.fns[f.Name]; ok {
		return fmt.Errorf("awsfake: function %s exists", f.Name)
	}
	c.revisions++
	c.fns[f.Name] = &lambdaFn{name: f.Name, packageType: f.PackageType, code: codeAt(f.Code), status: "Successful",
		revision: c.revisions, versions: map[int]*lambdaVersion{}, aliases: map[string]*lambdaAlias{}}
	return nil
}

// PublishCode updates function's code to location at once and publishes a
// version of it, as someone deploying by hand would; it returns the version.
func (l *Lambda) PublishCode(function, location, description string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		return "", fmt.Errorf("awsfake: no function %s", function)
	}
	fn.settle(time.Now())
	fn.code, fn.status = codeAt(location), "Successful"
	v, _ := l.publish(fn, description)
	return strconv.Itoa(v.n), nil
}

// FailVersion makes a published version's State Failed with reason.
func (l *Lambda) FailVersion(function, version, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		return fmt.Errorf("awsfake: no function %s", function)
	}
	n, _ := strconv.Atoi(version)
	v, ok := fn.versions[n]
	if !ok {
		return fmt.Errorf("awsfake: no version %s:%s", function, version)
	}
	v.state, v.stateReason = "Failed", reason
	return nil
}

// Versions returns function's published versions, oldest first.
func (l *Lambda) Versions(function string) []LambdaVersion {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		return nil
	}
	var out []LambdaVersion
	for _, n := range slices.Sorted(mapKeys(fn.versions)) {
		v := fn.versions[n]
		out = append(out, LambdaVersion{Version: strconv.Itoa(n), Code: v.code.location, Description: v.description, State: v.state})
	}
	return out
}

// Function returns function's $LATEST, after any update in progress ended.
func (l *Lambda) Function(function string) (LambdaFunction, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		return LambdaFunction{}, false
	}
	fn.settle(time.Now())
	return LambdaFunction{Name: fn.name, PackageType: fn.packageType, Code: fn.code.location}, true
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func codeAt(location string) lambdaCode {
	if rest, ok := strings.CutPrefix(location, "zip:"); ok {
		return lambdaCode{location: location, sha: rest}
	}
	sum := sha256.Sum256([]byte(location))
	return lambdaCode{location: location, sha: base64.StdEncoding.EncodeToString(sum[:])}
}

// settle ends an update in progress whose time has come.
func (fn *lambdaFn) settle(now time.Time) {
	if fn.status != "InProgress" || now.Before(fn.doneAt) {
		return
	}
	if fn.pendingFail[1] != "" {
		fn.status, fn.statusReasonCode, fn.statusReason = "Failed", fn.pendingFail[0], fn.pendingFail[1]
		return
	}
	fn.status, fn.statusReasonCode, fn.statusReason = "Successful", "", ""
	fn.code = fn.pending
}

// publish publishes $LATEST, or returns the last version if $LATEST's code
// has not changed since it was published, as Lambda does; l.mu is held.
func (l *Lambda) publish(fn *lambdaFn, description string) (*lambdaVersion, bool) {
	if last, ok := fn.versions[fn.lastVersion]; ok && last.code == fn.code {
		return last, false
	}
	c := l.control()
	c.revisions++
	fn.lastVersion++
	v := &lambdaVersion{n: fn.lastVersion, code: fn.code, description: description, state: "Active", revision: c.revisions}
	fn.versions[v.n] = v
	return v, true
}

// lambdaPath splits a control-plane path
// /2015-03-31/functions/{FunctionName}[/{rest}].
func lambdaPath(escaped string) (function, rest string, ok bool) {
	tail, ok := strings.CutPrefix(escaped, "/2015-03-31/functions/")
	if !ok {
		return "", "", false
	}
	label, rest, _ := strings.Cut(tail, "/")
	name, err := url.PathUnescape(label)
	if err != nil || name == "" {
		return "", "", false
	}
	return name, rest, true
}

// serveControl serves the control-plane operations and reports whether r
// was one.
func (l *Lambda) serveControl(w http.ResponseWriter, r *http.Request) bool {
	name, rest, ok := lambdaPath(r.URL.EscapedPath())
	if !ok || rest == "invocations" {
		return false
	}
	var op string
	switch {
	case rest == "code" && r.Method == http.MethodPut:
		op = "UpdateFunctionCode"
	case rest == "configuration" && r.Method == http.MethodGet:
		op = "GetFunctionConfiguration"
	case rest == "versions" && r.Method == http.MethodPost:
		op = "PublishVersion"
	case rest == "" && r.Method == http.MethodDelete:
		op = "DeleteFunction"
	case rest == "aliases" && r.Method == http.MethodGet:
		op = "ListAliases"
	case rest == "aliases" && r.Method == http.MethodPost:
		op = "CreateAlias"
	case strings.HasPrefix(rest, "aliases/") && r.Method == http.MethodPut:
		op = "UpdateAlias"
	case strings.HasPrefix(rest, "aliases/") && r.Method == http.MethodDelete:
		op = "DeleteAlias"
	default:
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "unknown operation "+r.Method+" "+r.URL.Path)
		return true
	}
	if f, faulted := l.Faults.Check(op); faulted {
		lambdaError(w, f.Status, f.Code, f.Message)
		return true
	}
	var body map[string]json.RawMessage
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b, err := io.ReadAll(io.LimitReader(r.Body, 70<<20))
		if err == nil && len(b) > 0 {
			err = json.Unmarshal(b, &body)
		}
		if err != nil {
			lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: "+err.Error())
			return true
		}
	}
	function, qualifier := lambdaResolveName(name)
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+lambdaARN(function, ""))
		return true
	}
	fn.settle(time.Now())
	req := lambdaRequest{w: w, r: r, fn: fn, qualifier: qualifier, body: body}
	switch op {
	case "UpdateFunctionCode":
		l.updateFunctionCode(req)
	case "GetFunctionConfiguration":
		l.getFunctionConfiguration(req)
	case "PublishVersion":
		l.publishVersion(req)
	case "DeleteFunction":
		l.deleteFunction(req)
	case "ListAliases":
		l.listAliases(req)
	case "CreateAlias":
		l.createAlias(req)
	case "UpdateAlias":
		l.updateAlias(req, strings.TrimPrefix(rest, "aliases/"))
	case "DeleteAlias":
		l.deleteAlias(req, strings.TrimPrefix(rest, "aliases/"))
	}
	return true
}

// lambdaRequest is one control-plane request, for a function that exists.
type lambdaRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	fn        *lambdaFn
	qualifier string
	body      map[string]json.RawMessage
}

// str returns the string field name of the body and whether it was set.
func (q lambdaRequest) str(name string) (string, bool) {
	raw, ok := q.body[name]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func lambdaWrite(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// lambdaWireConfig is a FunctionConfiguration as the API returns it.
type lambdaWireConfig struct {
	FunctionName               string
	FunctionArn                string
	Version                    string
	PackageType                string
	CodeSha256                 string
	Description                string `json:",omitempty"`
	State                      string
	StateReason                string `json:",omitempty"`
	StateReasonCode            string `json:",omitempty"`
	LastUpdateStatus           string
	LastUpdateStatusReason     string `json:",omitempty"`
	LastUpdateStatusReasonCode string `json:",omitempty"`
	RevisionId                 string //nolint:revive // the wire name
	LastModified               string
}

func revisionID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func (fn *lambdaFn) latestConfig() lambdaWireConfig {
	code := fn.code
	if fn.status == "InProgress" {
		code = fn.pending
	}
	return lambdaWireConfig{FunctionName: fn.name, FunctionArn: lambdaARN(fn.name, ""), Version: "$LATEST", PackageType: fn.packageType,
		CodeSha256: code.sha, State: "Active", LastUpdateStatus: fn.status, LastUpdateStatusReason: fn.statusReason,
		LastUpdateStatusReasonCode: fn.statusReasonCode, RevisionId: revisionID(fn.revision), LastModified: "2026-01-01T00:00:00.000+0000"}
}

func (fn *lambdaFn) versionConfig(v *lambdaVersion) lambdaWireConfig {
	c := lambdaWireConfig{FunctionName: fn.name, FunctionArn: lambdaARN(fn.name, strconv.Itoa(v.n)), Version: strconv.Itoa(v.n),
		PackageType: fn.packageType, CodeSha256: v.code.sha, Description: v.description, State: v.state, StateReason: v.stateReason,
		LastUpdateStatus: "Successful", RevisionId: revisionID(v.revision), LastModified: "2026-01-01T00:00:00.000+0000"}
	if v.state == "Failed" {
		c.StateReasonCode = "InternalError"
	}
	return c
}

func (l *Lambda) updateFunctionCode(q lambdaRequest) {
	fn := q.fn
	zipB64, hasZip := q.str("ZipFile")
	bucket, hasBucket := q.str("S3Bucket")
	key, hasKey := q.str("S3Key")
	objVersion, _ := q.str("S3ObjectVersion")
	image, hasImage := q.str("ImageUri")
	var loc string
	switch {
	case fn.packageType == "Image" && (!hasImage || hasZip || hasBucket):
		lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Please provide ImageUri when updating a function with packageType Image.")
		return
	case fn.packageType == "Zip" && hasImage:
		lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Please don't provide ImageUri when updating a function with packageType Zip.")
		return
	case hasImage:
		loc = image
	case hasZip && !hasBucket && !hasKey:
		zip, err := base64.StdEncoding.DecodeString(zipB64)
		if err != nil || len(zip) == 0 {
			lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Could not unzip uploaded file.")
			return
		}
		sum := sha256.Sum256(zip)
		loc = "zip:" + base64.StdEncoding.EncodeToString(sum[:])
	case hasBucket && hasKey && !hasZip:
		loc = "s3://" + bucket + "/" + key
		if objVersion != "" {
			loc += "?versionId=" + objVersion
		}
	default:
		lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Please provide exactly one of ZipFile, S3Bucket and S3Key, or ImageUri.")
		return
	}
	if rev, ok := q.str("RevisionId"); ok && rev != revisionID(fn.revision) {
		lambdaError(q.w, http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
		return
	}
	if fn.status == "InProgress" {
		lambdaError(q.w, http.StatusConflict, "ResourceConflictException",
			"The operation cannot be performed at this time. An update is in progress for resource: "+lambdaARN(fn.name, ""))
		return
	}
	c := l.control()
	c.revisions++
	fn.revision = c.revisions
	fn.pending, fn.pendingFail = codeAt(loc), c.failCode[loc]
	fn.status, fn.statusReason, fn.statusReasonCode = "InProgress", "The function is being created.", "Creating"
	fn.doneAt = time.Now().Add(c.updateDelay)
	fn.settle(time.Now())
	lambdaWrite(q.w, http.StatusOK, fn.latestConfig())
}

func (l *Lambda) getFunctionConfiguration(q lambdaRequest) {
	fn := q.fn
	switch q.qualifier {
	case "", "$LATEST":
		lambdaWrite(q.w, http.StatusOK, fn.latestConfig())
		return
	}
	n, err := strconv.Atoi(q.qualifier)
	if err != nil {
		a, ok := fn.aliases[q.qualifier]
		if !ok {
			lambdaError(q.w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+lambdaARN(fn.name, q.qualifier))
			return
		}
		if a.version == "$LATEST" {
			lambdaWrite(q.w, http.StatusOK, fn.latestConfig())
			return
		}
		n, _ = strconv.Atoi(a.version)
	}
	v, ok := fn.versions[n]
	if !ok {
		lambdaError(q.w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+lambdaARN(fn.name, q.qualifier))
		return
	}
	lambdaWrite(q.w, http.StatusOK, fn.versionConfig(v))
}

func (l *Lambda) publishVersion(q lambdaRequest) {
	fn := q.fn
	if fn.status == "InProgress" {
		lambdaError(q.w, http.StatusConflict, "ResourceConflictException",
			"The operation cannot be performed at this time. An update is in progress for resource: "+lambdaARN(fn.name, ""))
		return
	}
	if sha, ok := q.str("CodeSha256"); ok && sha != fn.code.sha {
		lambdaError(q.w, http.StatusPreconditionFailed, "PreconditionFailedException",
			"CodeSHA256 ("+sha+") is different from current CodeSHA256 in $LATEST ("+fn.code.sha+"). Please try again with the CodeSHA256 in $LATEST.")
		return
	}
	if rev, ok := q.str("RevisionId"); ok && rev != revisionID(fn.revision) {
		lambdaError(q.w, http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
		return
	}
	desc, _ := q.str("Description")
	if len(desc) > 256 {
		lambdaError(q.w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
		return
	}
	v, _ := l.publish(fn, desc)
	lambdaWrite(q.w, http.StatusCreated, fn.versionConfig(v))
}

func (l *Lambda) deleteFunction(q lambdaRequest) {
	fn := q.fn
	switch q.qualifier {
	case "":
		delete(l.control().fns, fn.name)
		q.w.WriteHeader(http.StatusNoContent)
		return
	case "$LATEST":
		lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.")
		return
	}
	n, err := strconv.Atoi(q.qualifier)
	if err != nil {
		lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Deletion of aliases is not supported.")
		return
	}
	if _, ok := fn.versions[n]; !ok {
		lambdaError(q.w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+lambdaARN(fn.name, q.qualifier))
		return
	}
	var refs []string
	for _, name := range slices.Sorted(mapKeys(fn.aliases)) {
		if fn.aliases[name].references(q.qualifier) {
			refs = append(refs, name)
		}
	}
	if len(refs) > 0 {
		lambdaError(q.w, http.StatusConflict, "ResourceConflictException",
			"Unable to delete version because the following aliases reference it: ["+strings.Join(refs, ", ")+"]")
		return
	}
	delete(fn.versions, n)
	q.w.WriteHeader(http.StatusNoContent)
}
