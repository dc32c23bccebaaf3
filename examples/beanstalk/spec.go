package main

import (
	"encoding/json"

	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
)

// beanstalkSpec encodes a revision Spec.
func beanstalkSpec(s beanstalk.Spec) (json.RawMessage, error) { return json.Marshal(s) }
