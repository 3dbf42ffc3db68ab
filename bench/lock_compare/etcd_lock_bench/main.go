// etcd_lock_bench: the etcd side of the lock comparison (bench/lock_compare/,
// docs/benchmarks.md). Closed-loop clients contend on ONE lock name with etcd's
// own lock recipes and print one JSON line in the shape of `coord-bench lock`.
//
// Per client: one gRPC connection (clientv3.Client) to endpoints[i % n], one
// session (a lease of --ttl seconds kept alive by the library in the
// background), then cycles of acquire (waiting) + release until the window
// closes. The latency of a cycle is from the acquire's start to the release's
// reply. Only cycles that start and finish inside the measured window count;
// failed cycles count as errors.
//
// Recipes (--recipe):
//
//	mutex   clientv3/concurrency.Mutex: a key under the lock prefix with the
//	        session's lease (one txn), then wait for the deletion of every key
//	        of a lower create revision (get + watch); release = delete.
//	v3lock  etcd's server-side lock service (v3lockpb Lock/Unlock RPCs with the
//	        session's lease); the server runs the same recipe internally.
//	fastwatch  NOT etcd's: the mutex recipe with one change, for sizing only.
//	        concurrency.Mutex watches the predecessor from the revision of its
//	        read, which etcd 3.4 treats as a past revision ("unsynced"
//	        watcher), so the deletion is delivered by a loop that runs every
//	        100 ms; fastwatch watches from that revision + 1 (a synced watcher,
//	        notified at once) and misses nothing, since the watch replays
//	        history from there.
//
// Workload --workload write (the etcd side of the write comparison,
// docs/benchmarks.md, "write"): no session, no lock; each cycle is ONE plain KV
// Put (clientv3.KV.Put) of a new distinct key, /bench/write/<run>/<client>/<n>,
// with a fixed value of --value-size random lowercase bytes (256, as
// `coord-bench write`), timed from the call to its reply; the JSON line says
// "workload":"write".
//
// Built offline against Debian's golang-etcd-server-dev by
// bench/lock_compare/build-etcd-bench.sh (GOPATH mode).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
	"go.etcd.io/etcd/etcdserver/api/v3lock/v3lockpb"
	"go.etcd.io/etcd/mvcc/mvccpb"
	"google.golang.org/grpc/grpclog"
)

type opRecord struct {
	start, finish time.Time
	ok            bool
}

type locker interface {
	lock(ctx context.Context) error
	unlock(ctx context.Context) error
}

type mutexLocker struct{ m *concurrency.Mutex }

func (l *mutexLocker) lock(ctx context.Context) error   { return l.m.Lock(ctx) }
func (l *mutexLocker) unlock(ctx context.Context) error { return l.m.Unlock(ctx) }

type v3Locker struct {
	lc    v3lockpb.LockClient
	name  []byte
	lease clientv3.LeaseID
	key   []byte
}

func (l *v3Locker) lock(ctx context.Context) error {
	resp, err := l.lc.Lock(ctx, &v3lockpb.LockRequest{Name: l.name, Lease: int64(l.lease)})
	if err != nil {
		return err
	}
	l.key = resp.Key
	return nil
}

func (l *v3Locker) unlock(ctx context.Context) error {
	if l.key == nil {
		return nil
	}
	_, err := l.lc.Unlock(ctx, &v3lockpb.UnlockRequest{Key: l.key})
	if err == nil {
		l.key = nil
	}
	return err
}

// putter: the write workload, one Put of a new distinct key per cycle; it
// implements locker so that the closed loop below is shared (unlock is a no-op).
type putter struct {
	kv    clientv3.KV
	pfx   string // "/bench/write/<run>/<client>/"
	value string
	n     int
}

func (p *putter) lock(ctx context.Context) error {
	key := fmt.Sprintf("%s%d", p.pfx, p.n)
	p.n++
	_, err := p.kv.Put(ctx, key, p.value)
	return err
}

func (p *putter) unlock(context.Context) error { return nil }

// fastLocker: the recipe of concurrency.Mutex (see fastwatch above).
type fastLocker struct {
	cli   *clientv3.Client
	pfx   string // the lock's prefix, ending in "/"
	lease clientv3.LeaseID
	key   string // our key while queued or holding; "" otherwise
}

func (l *fastLocker) lock(ctx context.Context) error {
	key := fmt.Sprintf("%s%x", l.pfx, l.lease)
	first := clientv3.OpGet(l.pfx, clientv3.WithFirstCreate()...)
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, "", clientv3.WithLease(l.lease)), first).
		Else(clientv3.OpGet(key), first).Commit()
	if err != nil {
		return err
	}
	l.key = key
	myRev := resp.Header.Revision
	if !resp.Succeeded {
		myRev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	if owner := resp.Responses[1].GetResponseRange().Kvs; len(owner) == 0 || owner[0].CreateRevision == myRev {
		return nil
	}
	for {
		// The newest waiter ahead of us; we hold the lock once none is left.
		ahead, err := l.cli.Get(ctx, l.pfx, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(myRev-1))...)
		if err != nil {
			return err
		}
		if len(ahead.Kvs) == 0 {
			return nil
		}
		wctx, cancel := context.WithCancel(ctx)
		deleted := false
		for wr := range l.cli.Watch(wctx, string(ahead.Kvs[0].Key), clientv3.WithRev(ahead.Header.Revision+1)) {
			for _, ev := range wr.Events {
				deleted = deleted || ev.Type == mvccpb.DELETE
			}
			if deleted || wr.Err() != nil {
				break
			}
		}
		cancel()
		if !deleted {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watch on %s ended", ahead.Kvs[0].Key)
		}
	}
}

func (l *fastLocker) unlock(ctx context.Context) error {
	if l.key == "" {
		return nil
	}
	if _, err := l.cli.Delete(ctx, l.key); err != nil {
		return err
	}
	l.key = ""
	return nil
}

// percentile is the nearest-rank percentile of sorted (non-empty), as coord-bench.
func percentile(sorted []int64, q float64) int64 {
	rank := math.Ceil(q * float64(len(sorted)))
	i := 0
	if rank >= 1 {
		i = int(rank) - 1
	}
	if i > len(sorted)-1 {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcd_lock_bench: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated host:port client addresses")
	clients := flag.Int("clients", 1, "closed-loop clients, one connection and session each")
	warmup := flag.Float64("warmup", 1, "seconds before the measured window")
	duration := flag.Float64("duration", 5, "seconds of the measured window")
	ttl := flag.Int("ttl", 10, "session (lease) TTL in seconds")
	recipe := flag.String("recipe", "mutex", "mutex (clientv3/concurrency.Mutex), v3lock (server-side Lock RPC) or fastwatch (sizing only)")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of one acquire, release or put")
	work := flag.String("workload", "lock", "lock (the --recipe) or write (one Put of a new distinct key per cycle)")
	valueSize := flag.Int("value-size", 256, "write: bytes per value (coord-bench's default)")
	flag.Parse()
	if *clients < 1 || *warmup < 0 || *duration <= 0 || (*recipe != "mutex" && *recipe != "v3lock" && *recipe != "fastwatch") ||
		(*work != "lock" && *work != "write") || *valueSize < 0 {
		flag.Usage()
		os.Exit(2)
	}
	// grpc-go logs every reconnect at INFO; keep stderr for real errors.
	clientv3.SetLogger(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr))
	eps := strings.Split(*endpoints, ",")
	run := fmt.Sprintf("%d-%x", os.Getpid(), time.Now().UnixNano())
	name := "/bench/lock/" + run
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	valueBytes := make([]byte, *valueSize)
	for i := range valueBytes {
		valueBytes[i] = byte('a' + rng.Intn(26))
	}
	value := string(valueBytes)

	type client struct {
		cli  *clientv3.Client
		sess *concurrency.Session
		l    locker
	}
	cs := make([]client, *clients)
	for i := range cs {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{"http://" + eps[i%len(eps)]},
			DialTimeout: 10 * time.Second,
		})
		if err != nil {
			fail("connect %s: %v", eps[i%len(eps)], err)
		}
		if *work == "write" {
			cs[i] = client{cli, nil, &putter{kv: cli, pfx: fmt.Sprintf("/bench/write/%s/%d/", run, i), value: value}}
			continue
		}
		sess, err := concurrency.NewSession(cli, concurrency.WithTTL(*ttl))
		if err != nil {
			fail("session: %v", err)
		}
		var l locker
		switch *recipe {
		case "mutex":
			l = &mutexLocker{concurrency.NewMutex(sess, name)}
		case "fastwatch":
			l = &fastLocker{cli: cli, pfx: name + "/", lease: sess.Lease()}
		default:
			l = &v3Locker{lc: v3lockpb.NewLockClient(cli.ActiveConnection()), name: []byte(name), lease: sess.Lease()}
		}
		cs[i] = client{cli, sess, l}
	}

	epoch := time.Now()
	begin := epoch.Add(time.Duration(*warmup * float64(time.Second)))
	end := begin.Add(time.Duration(*duration * float64(time.Second)))
	records := make([][]opRecord, *clients)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := cs[i]
			for time.Now().Before(end) {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				err := c.l.lock(ctx)
				cancel()
				if err == nil {
					ctx, cancel = context.WithTimeout(context.Background(), *timeout)
					err = c.l.unlock(ctx)
					cancel()
				}
				records[i] = append(records[i], opRecord{start, time.Now(), err == nil})
				if err != nil {
					// Drop a grant or a wait this client may still hold, as coord-bench does.
					ctx, cancel = context.WithTimeout(context.Background(), *timeout)
					_ = c.l.unlock(ctx)
					cancel()
				}
			}
		}(i)
	}
	wg.Wait()
	for _, c := range cs {
		if c.sess != nil {
			c.sess.Close()
		}
		c.cli.Close()
	}

	var lat []int64
	errors := 0
	minOps, maxOps := math.MaxInt64, 0
	for _, rs := range records {
		n := 0
		for _, r := range rs {
			if r.start.Before(begin) || r.finish.After(end) {
				continue
			}
			if r.ok {
				lat = append(lat, r.finish.Sub(r.start).Microseconds())
				n++
			} else {
				errors++
			}
		}
		if n < minOps {
			minOps = n
		}
		if n > maxOps {
			maxOps = n
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	secs := end.Sub(begin).Seconds()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	var mean, p50, p90, p99, p999, max float64
	if len(lat) > 0 {
		var total float64
		for _, v := range lat {
			total += float64(v)
		}
		mean = total / float64(len(lat)) / 1000
		p50, p90, p99 = ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 0.99))
		p999, max = ms(percentile(lat, 0.999)), ms(lat[len(lat)-1])
	}
	workload := "lock"
	if *work == "write" {
		workload = "write"
	} else if *recipe != "mutex" {
		workload = "lock-" + *recipe
	}
	fmt.Printf("{\"system\":\"etcd\",\"workload\":\"%s\",\"clients\":%d,\"ops\":%d,\"secs\":%.3f,"+
		"\"ops_per_s\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"+
		"\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,\"client_ops_min\":%d,\"client_ops_max\":%d}\n",
		workload, *clients, len(lat), secs, float64(len(lat))/secs, mean, p50, p90, p99, p999, max,
		errors, minOps, maxOps)
}
