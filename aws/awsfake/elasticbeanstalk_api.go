package awsfake

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// This file holds the Elastic Beanstalk fake's operations and their AWS
// query protocol framing (form-encoded POST, Action=<Op>&Version=2010-12-01,
// XML responses in the elasticbeanstalk namespace), with the element names
// of the Elastic Beanstalk API reference.

const ebXMLNS = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"

type xmlEnvironment struct {
	EnvironmentName              string `xml:"EnvironmentName"`
	EnvironmentID                string `xml:"EnvironmentId"`
	EnvironmentArn               string `xml:"EnvironmentArn"`
	ApplicationName              string `xml:"ApplicationName"`
	VersionLabel                 string `xml:"VersionLabel,omitempty"`
	SolutionStackName            string `xml:"SolutionStackName,omitempty"`
	PlatformArn                  string `xml:"PlatformArn,omitempty"`
	TemplateName                 string `xml:"TemplateName,omitempty"`
	Description                  string `xml:"Description,omitempty"`
	EndpointURL                  string `xml:"EndpointURL,omitempty"`
	CNAME                        string `xml:"CNAME,omitempty"`
	DateCreated                  string `xml:"DateCreated"`
	DateUpdated                  string `xml:"DateUpdated"`
	Status                       string `xml:"Status"`
	AbortableOperationInProgress bool   `xml:"AbortableOperationInProgress"`
	Health                       string `xml:"Health"`
	HealthStatus                 string `xml:"HealthStatus"`
}

type xmlEnvironments struct {
	Environments []xmlEnvironment `xml:"Environments>member"`
}

type xmlAppVersion struct {
	ApplicationName string `xml:"ApplicationName"`
	VersionLabel    string `xml:"VersionLabel"`
	Status          string `xml:"Status"`
	DateCreated     string `xml:"DateCreated"`
	SourceBundle    *struct {
		S3Bucket string `xml:"S3Bucket"`
		S3Key    string `xml:"S3Key"`
	} `xml:"SourceBundle,omitempty"`
}

func ebTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (f *ElasticBeanstalk) toXML(e *EBEnvironment) xmlEnvironment {
	f.advance(e)
	health, status := f.health(e)
	return xmlEnvironment{
		EnvironmentName: e.Name, EnvironmentID: e.ID, ApplicationName: e.ApplicationName, VersionLabel: e.VersionLabel,
		EnvironmentArn:    fmt.Sprintf("arn:aws:elasticbeanstalk:%s:%s:environment/%s/%s", fakeRegion, fakeAccount, e.ApplicationName, e.Name),
		SolutionStackName: e.SolutionStackName, PlatformArn: e.PlatformArn, TemplateName: e.TemplateName, Description: e.Description,
		EndpointURL: "awseb-" + e.ID + "-1234567890." + fakeRegion + ".elb.amazonaws.com", CNAME: e.CNAME,
		DateCreated: ebTime(e.Created), DateUpdated: ebTime(e.Updated), Status: e.Status,
		AbortableOperationInProgress: e.Status == "Updating", Health: health, HealthStatus: status,
	}
}

func toXMLVersion(v *EBVersion) xmlAppVersion {
	x := xmlAppVersion{ApplicationName: v.ApplicationName, VersionLabel: v.VersionLabel, Status: v.Status, DateCreated: ebTime(v.Created)}
	if v.S3Bucket != "" {
		x.SourceBundle = &struct {
			S3Bucket string `xml:"S3Bucket"`
			S3Key    string `xml:"S3Key"`
		}{v.S3Bucket, v.S3Key}
	}
	return x
}

// ServeHTTP serves the Elastic Beanstalk query API.
func (f *ElasticBeanstalk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	queryAPI{version: "2010-12-01", xmlns: ebXMLNS, faults: &f.Faults, mu: &f.mu, serve: f.serve}.ServeHTTP(w, r)
}

func (f *ElasticBeanstalk) serve(op string, q queryForm) (any, error) {
	switch op {
	case "DescribeEnvironments":
		return f.opDescribeEnvironments(q)
	case "CreateEnvironment":
		return f.opCreateEnvironment(q)
	case "UpdateEnvironment":
		return f.opUpdateEnvironment(q)
	case "TerminateEnvironment":
		return f.opTerminateEnvironment(q)
	case "SwapEnvironmentCNAMEs":
		return f.opSwap(q)
	case "CreateApplicationVersion":
		return f.opCreateApplicationVersion(q)
	case "DescribeApplicationVersions":
		return f.opDescribeApplicationVersions(q)
	}
	return nil, clientErr("InvalidAction", "the Elastic Beanstalk fake does not serve %q", op)
}

func (f *ElasticBeanstalk) opDescribeEnvironments(q queryForm) (any, error) {
	app, names, ids := q.get("ApplicationName"), q.strings("EnvironmentNames"), q.strings("EnvironmentIds")
	includeDeleted := q.get("IncludeDeleted") != "false"
	out := xmlEnvironments{Environments: []xmlEnvironment{}}
	for _, e := range f.envs {
		f.advance(e)
		switch {
		case app != "" && e.ApplicationName != app,
			len(names) > 0 && !slices.Contains(names, e.Name),
			len(ids) > 0 && !slices.Contains(ids, e.ID),
			!includeDeleted && e.Status == "Terminated":
			continue
		}
		out.Environments = append(out.Environments, f.toXML(e))
	}
	return out, nil
}

// environment finds the live environment an operation names by
// EnvironmentName or EnvironmentId (with prefix "" or "Source"/"Destination").
func (f *ElasticBeanstalk) environment(q queryForm, prefix string) (*EBEnvironment, error) {
	name, id := q.get(prefix+"EnvironmentName"), q.get(prefix+"EnvironmentId")
	if name == "" && id == "" {
		return nil, clientErr("MissingParameter", "%sEnvironmentName or %sEnvironmentId is required", prefix, prefix)
	}
	for _, e := range f.envs {
		f.advance(e)
		if e.Status != "Terminated" && (name == "" || e.Name == name) && (id == "" || e.ID == id) {
			return e, nil
		}
	}
	if name == "" {
		name = id
	}
	return nil, clientErr("InvalidParameterValue", "No Environment found for EnvironmentName = '%s'.", name)
}

func optionSettings(q queryForm) map[string]string {
	out := map[string]string{}
	for _, p := range q.members("OptionSettings") {
		out[q.get(p+".Namespace")+":"+q.get(p+".OptionName")] = q.get(p + ".Value")
	}
	return out
}

func (f *ElasticBeanstalk) opCreateEnvironment(q queryForm) (any, error) {
	appName, name, label := q.get("ApplicationName"), q.get("EnvironmentName"), q.get("VersionLabel")
	app, ok := f.apps[appName]
	switch {
	case !ok:
		return nil, clientErr("InvalidParameterValue", "No Application named '%s' found.", appName)
	case len(name) < 4 || len(name) > 40:
		return nil, clientErr("InvalidParameterValue", "Value %s at 'environmentName' failed to satisfy constraint: Member must have length between 4 and 40", name)
	case f.live("", name) != nil:
		return nil, clientErr("InvalidParameterValue", "Environment %s already exists.", name)
	}
	if label != "" {
		if _, ok := app.versions[label]; !ok {
			return nil, clientErr("InvalidParameterValue", "No Application Version named '%s' found.", label)
		}
	}
	stack, platform, template := q.get("SolutionStackName"), q.get("PlatformArn"), q.get("TemplateName")
	n := 0
	for _, s := range []string{stack, platform, template} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, clientErr("InvalidParameterCombination", "Specify exactly one of SolutionStackName, PlatformArn and TemplateName")
	}
	prefix := q.get("CNAMEPrefix")
	if prefix == "" {
		prefix = fmt.Sprintf("%s.%s", name, f.newID()[2:])
	}
	cname := prefix + "." + fakeRegion + ".elasticbeanstalk.com"
	for _, e := range f.envs {
		if e.Status != "Terminated" && e.CNAME == cname {
			return nil, clientErr("InvalidParameterValue", "DNS name (%s) is not available.", cname)
		}
	}
	tags := map[string]string{}
	for _, p := range q.members("Tags") {
		tags[q.get(p+".Key")] = q.get(p + ".Value")
	}
	now := f.opts.Now()
	e := &EBEnvironment{ID: f.newID(), Name: name, ApplicationName: appName, VersionLabel: label, CNAME: cname,
		SolutionStackName: stack, PlatformArn: platform, TemplateName: template, Description: q.get("Description"),
		OptionSettings: optionSettings(q), Tags: tags, Created: now}
	f.transition(e, "Launching", "Ready", f.opts.LaunchDelay)
	f.envs = append(f.envs, e)
	return f.toXML(e), nil
}

func (f *ElasticBeanstalk) opUpdateEnvironment(q queryForm) (any, error) {
	e, err := f.environment(q, "")
	if err != nil {
		return nil, err
	}
	if e.Status != "Ready" {
		return nil, clientErr("InvalidParameterValue", "Environment named %s is in an invalid state for this operation. Must be Ready.", e.Name)
	}
	if label := q.get("VersionLabel"); label != "" {
		if _, ok := f.apps[e.ApplicationName].versions[label]; !ok {
			return nil, clientErr("InvalidParameterValue", "No Application Version named '%s' found.", label)
		}
		e.VersionLabel = label
	}
	if d := q.get("Description"); d != "" {
		e.Description = d
	}
	maps.Copy(e.OptionSettings, optionSettings(q))
	f.transition(e, "Updating", "Ready", f.opts.UpdateDelay)
	return f.toXML(e), nil
}

func (f *ElasticBeanstalk) opTerminateEnvironment(q queryForm) (any, error) {
	e, err := f.environment(q, "")
	if err != nil {
		return nil, err
	}
	if e.Status == "Terminating" {
		return nil, clientErr("InvalidParameterValue", "Environment named %s is in an invalid state for this operation. Must be Ready.", e.Name)
	}
	f.transition(e, "Terminating", "Terminated", f.opts.TerminateDelay)
	return f.toXML(e), nil
}

func (f *ElasticBeanstalk) opSwap(q queryForm) (any, error) {
	src, err := f.environment(q, "Source")
	if err != nil {
		return nil, err
	}
	dst, err := f.environment(q, "Destination")
	if err != nil {
		return nil, err
	}
	switch {
	case src == dst:
		return nil, clientErr("InvalidParameterValue", "Source and destination environments must be different")
	case src.ApplicationName != dst.ApplicationName:
		return nil, clientErr("InvalidParameterValue", "Both environments must belong to the same application")
	}
	for _, e := range []*EBEnvironment{src, dst} {
		if e.Status != "Ready" {
			return nil, clientErr("InvalidParameterValue", "Environment named %s is in an invalid state for this operation. Must be Ready.", e.Name)
		}
	}
	src.CNAME, dst.CNAME = dst.CNAME, src.CNAME
	f.transition(src, "Updating", "Ready", f.opts.UpdateDelay)
	f.transition(dst, "Updating", "Ready", f.opts.UpdateDelay)
	return nil, nil
}

func (f *ElasticBeanstalk) opCreateApplicationVersion(q queryForm) (any, error) {
	appName, label := q.get("ApplicationName"), q.get("VersionLabel")
	app, ok := f.apps[appName]
	if !ok {
		if q.get("AutoCreateApplication") != "true" {
			return nil, clientErr("InvalidParameterValue", "No Application named '%s' found.", appName)
		}
		app = &ebApp{versions: map[string]*EBVersion{}}
		f.apps[appName] = app
	}
	if label == "" {
		return nil, clientErr("MissingParameter", "VersionLabel is required")
	}
	if _, ok := app.versions[label]; ok {
		return nil, clientErr("InvalidParameterValue", "Application Version %s already exists.", label)
	}
	v := &EBVersion{ApplicationName: appName, VersionLabel: label, Status: "UNPROCESSED", Created: f.opts.Now(),
		S3Bucket: q.get("SourceBundle.S3Bucket"), S3Key: q.get("SourceBundle.S3Key")}
	if q.get("Process") == "true" {
		v.Status = "PROCESSED"
	}
	app.versions[label] = v
	return struct {
		ApplicationVersion xmlAppVersion `xml:"ApplicationVersion"`
	}{toXMLVersion(v)}, nil
}

func (f *ElasticBeanstalk) opDescribeApplicationVersions(q queryForm) (any, error) {
	appName, labels := q.get("ApplicationName"), q.strings("VersionLabels")
	out := struct {
		ApplicationVersions []xmlAppVersion `xml:"ApplicationVersions>member"`
	}{ApplicationVersions: []xmlAppVersion{}}
	for _, name := range slices.Sorted(maps.Keys(f.apps)) {
		if appName != "" && name != appName {
			continue
		}
		for _, label := range slices.Sorted(maps.Keys(f.apps[name].versions)) {
			if len(labels) == 0 || slices.Contains(labels, label) {
				out.ApplicationVersions = append(out.ApplicationVersions, toXMLVersion(f.apps[name].versions[label]))
			}
		}
	}
	return out, nil
}
