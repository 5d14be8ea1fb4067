// Command genreplay writes a request log for `cascade replay` benchmarks:
// N JSON lines (default 1,000,000) of about 300 bytes, each with a partner
// id and a where-style query document, 5% of which the strict schema
// (bench/replay/new.json) rejects while the old one accepts them.
//
//	go run ./bench/genreplay -n 1000000 > requests.jsonl
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
)

func main() {
	n := flag.Int("n", 1000000, "lines")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	rng := rand.New(rand.NewPCG(7, 11))
	partners := []string{"district-app", "gradebook-plus", "bus-tracker", "lunch-pay", "library-hub", "attendance-pro", "parent-portal", "sis-sync"}
	schools := []string{"Hill", "Lakeside", "Riverside", "Oak Grove", "Maple Heights", "Cedar Park"}
	names := []string{"Ada", "Bob", "Cy", "Dana", "Eve", "Finn", "Gus", "Hana"}
	for i := 0; i < *n; i++ {
		p := partners[rng.IntN(len(partners))]
		var where string
		switch r := rng.IntN(100); {
		case r < 5: // newly rejected: a field the strict schema does not know
			where = fmt.Sprintf(`{"studentName":%q,"school":%q,"grade":{"$gt":%d}}`, names[rng.IntN(len(names))], schools[rng.IntN(len(schools))], rng.IntN(12))
		case r < 50:
			where = fmt.Sprintf(`{"name":%q,"school":%q,"grade":{"$gt":%d,"$lt":%d}}`, names[rng.IntN(len(names))], schools[rng.IntN(len(schools))], rng.IntN(6), 6+rng.IntN(6))
		default:
			where = fmt.Sprintf(`{"school":%q,"grade":%d,"name":%q}`, schools[rng.IntN(len(schools))], rng.IntN(13), names[rng.IntN(len(names))])
		}
		fmt.Fprintf(w, `{"ts":%d,"request_id":"req-%08d-%04x","trace_id":"%016x%016x","partner":%q,"client_ip":"192.0.2.%d","method":"GET","path":"/v1/students","status":200,"latency_ms":%d,"user_agent":"partner-sdk/2.%d","where":%s}`+"\n",
			1772442000+i, i, rng.IntN(65536), rng.Uint64(), rng.Uint64(), p, rng.IntN(255), rng.IntN(900), rng.IntN(9), where)
	}
}
