package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/driver"
)

// This example keeps deployment state in a DynamoDB table shared by every
// deploy process, creating the table on first use. It is not run: it needs
// AWS credentials.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	store, err := dynamostore.New(dynamostore.Options{Client: client, Table: "bluegreen-state"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateTable(ctx, store.CreateTableInput()); err == nil {
		waiter := dynamodb.NewTableExistsWaiter(client)
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: store.CreateTableInput().TableName}, 5*time.Minute); err != nil {
			log.Fatal(err)
		}
	}
	deployerConfig := bluegreen.Config{
		// Compute and Router: see the aws/ecscompute and aws/elbrouter packages.
		Store:    store,
		LeaseTTL: time.Minute,
	}
	if _, err := bluegreen.New(deployerConfig); err != nil {
		log.Fatal(err)
	}
}

// This example shows the compare-and-swap: a writer holding a stale version
// is refused, and told who holds the record.
func ExampleStore_Save() {
	fake := awsfake.NewDynamoDB()
	url, closeServer := awsfake.Serve(fake)
	defer closeServer()
	ctx := context.Background()
	client := dynamodb.NewFromConfig(awsfake.Config(url))
	store, err := dynamostore.New(dynamostore.Options{Client: client, Table: "bluegreen-state"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateTable(ctx, store.CreateTableInput()); err != nil {
		log.Fatal(err)
	}

	rec, err := store.Load(ctx, "web")
	if err != nil {
		log.Fatal(err)
	}
	stale := rec
	rec.Lease = driver.Lease{Owner: "host-1", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec.Version, err = store.Save(ctx, rec)
	fmt.Println("saved version", rec.Version, err)

	stale.Lease.Owner = "host-2"
	_, err = store.Save(ctx, stale)
	fmt.Println(errors.Is(err, bluegreen.ErrConflict))
	msg, _, _ := strings.Cut(err.Error(), ": operation error") // the SDK's own words follow
	fmt.Println(msg)
	// Output:
	// saved version 1 <nil>
	// true
	// bluegreen: conflict: dynamostore: service web: the stored record is at version 1, leased by host-1 until 2030-01-01T00:00:00Z, not version 0: load it again and retry
}

// This example lists the services whose deployment is unfinished, as a
// fleet of Deployers does to adopt those whose owner is gone: from the
// table's sparse index, without scanning the table.
func ExampleStore_Unfinished() {
	fake := awsfake.NewDynamoDB()
	url, closeServer := awsfake.Serve(fake)
	defer closeServer()
	ctx := context.Background()

	client := dynamodb.NewFromConfig(awsfake.Config(url))
	store, err := dynamostore.New(dynamostore.Options{Client: client, Table: "bluegreen-state"})
	if err != nil {
		log.Fatal(err)
	}
	// The table with its index: CreateTableInput includes it.
	if _, err := client.CreateTable(ctx, store.CreateTableInput()); err != nil {
		log.Fatal(err)
	}
	for _, svc := range []string{"web", "api", "batch"} {
		if _, err := store.Save(ctx, driver.Record{Service: svc, Unfinished: svc != "api"}); err != nil {
			log.Fatal(err)
		}
	}
	listed, err := store.Unfinished(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range listed {
		fmt.Println(l.Service)
	}
	// Output:
	// batch
	// web
}
