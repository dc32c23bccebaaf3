package beanstalk

import (
	"fmt"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
)

// CNAME returns the domain name of an environment created with a CNAME
// prefix in a region: "<prefix>.<region>.elasticbeanstalk.com".
func CNAME(prefix, region string) string { return prefix + "." + region + ".elasticbeanstalk.com" }

// Route53Service returns the route53router.Service that routes production
// traffic of name (and test traffic of testName, if not empty) in hosted
// zone zoneID with weighted CNAME records to the two environments' CNAMEs:
// the way to shift traffic to Elastic Beanstalk linearly or by canary. s
// needs CNAMEPrefixA and CNAMEPrefixB (each environment then keeps its
// slot's prefix: use no SwapRouter with it) and region is the
// environments' region.
func Route53Service(s Service, region, zoneID, name, testName string) (route53router.Service, error) {
	if s.CNAMEPrefixA == "" || s.CNAMEPrefixB == "" {
		return route53router.Service{}, &bluegreen.ConfigError{Field: "beanstalk.Service.CNAMEPrefixA", Problem: "CNAMEPrefixA or CNAMEPrefixB empty",
			Fix: "give each environment a CNAME prefix, so that its record has a fixed target"}
	}
	if region == "" {
		return route53router.Service{}, &bluegreen.ConfigError{Field: "region", Problem: "empty", Fix: fmt.Sprintf(`give the region of %s's environments, such as "us-east-1"`, s.Application)}
	}
	return route53router.Service{HostedZoneID: zoneID, Name: name, TestName: testName,
		A: route53router.Target{CNAME: CNAME(s.CNAMEPrefixA, region)}, B: route53router.Target{CNAME: CNAME(s.CNAMEPrefixB, region)}}, nil
}
