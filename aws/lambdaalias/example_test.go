package lambdaalias_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
)

// This example shifts the "live" alias of the function "orders" to new
// code in S3, 10% a minute. It is not run: it needs AWS credentials.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	backend, err := lambdaalias.New(lambdaalias.Options{Client: lambda.NewFromConfig(cfg)})
	if err != nil {
		log.Fatal(err)
	}
	d, err := bluegreen.New(bluegreen.Config{
		Compute:  backend,
		Router:   backend,
		Store:    bluegreen.NewMemoryStore(), // aws/dynamostore to share state across processes
		Shift:    bluegreen.Linear(10, time.Minute),
		BakeTime: 5 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	spec, _ := json.Marshal(lambdaalias.Spec{S3Bucket: "my-artifacts", S3Key: "orders/42.zip"})
	res, err := d.Deploy(ctx, "orders", bluegreen.Revision{Name: "orders:42", Spec: spec})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Outcome, res.Live)
}

// This example deploys a version a CI job already published, and a
// container image.
func ExampleSpec() {
	published, _ := json.Marshal(lambdaalias.Spec{Version: "17"})
	image, _ := json.Marshal(lambdaalias.Spec{ImageURI: "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:42"})
	fmt.Println(string(published))
	fmt.Println(string(image))
	// Output:
	// {"version":"17"}
	// {"imageUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:42"}
}
