package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/memsdk/mem-go/memclient"
	"github.com/memsdk/mem-go/redisstore"
	"github.com/memsdk/mem-go/throttle"
	"github.com/redis/go-redis/v9"
)

// Four workers on one API key, each in its own process, each running this:
// they share one set of buckets in Redis, and while Redis is out of reach
// each spends at most a quarter of the budget.
func Example() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "localhost:6379",
		MaxRetries:            -1,   // the store falls back instead of retrying
		ContextTimeoutEnabled: true, // the store's deadlines reach the connection
	})
	defer rdb.Close()

	apiKey := os.Getenv("MEM_API_KEY")
	policy := throttle.DefaultPolicy()
	store, err := redisstore.New(rdb, apiKey, policy, redisstore.Options{Share: 1.0 / 4})
	if err != nil {
		panic(err)
	}
	th, err := throttle.New(policy, throttle.WithStore(store))
	if err != nil {
		panic(err)
	}
	client, err := memclient.New(memclient.WithAPIKey(apiKey), memclient.WithThrottle(th))
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	note, _, err := client.Notes.Create(ctx, &memclient.CreateNoteRequest{Content: "Shared limits\nfrom one of four workers"})
	if err != nil {
		panic(err)
	}
	fmt.Println(note.ID, store.Stats().OnRedis)
}
