// Command genreplay writes a request log for `cascade replay` benchmarks:
// N JSON lines (default 1,000,000) of about 400 bytes, each with a partner
// and a where-style query document, 5% of which the strict schema
// (bench/replay/new.json) rejects while the old one accepts them.
//
// The query documents hold what real ones do: student ids, names, RFC 3339
// timestamps, cursors. By default they are built afresh for every line, so
// almost all are distinct (a verdict remembered by document text rarely
// applies); a tenth repeat one of a few popular queries. With -docs K every
// line's document is one of K, for a log with much repetition.
//
//	go run ./bench/genreplay -n 1000000 > distinct.jsonl
//	go run ./bench/genreplay -n 1000000 -docs 200 > repeated.jsonl
//
// It prints to stderr how many distinct documents it wrote.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"time"
)

var (
	partners = []string{"district-app", "gradebook-plus", "bus-tracker", "lunch-pay", "library-hub", "attendance-pro", "parent-portal", "sis-sync"}
	schools  = []string{"Hill Elementary", "Lakeside Middle", "Riverside High", "Oak Grove Academy", "Maple Heights", "Cedar Park Prep", "North Valley", "St. Brendan's"}
	first    = []string{"Ada", "Bao", "Carmen", "Dmitri", "Efua", "Farah", "Giulia", "Hiroshi", "Ines", "Jamal", "Kasia", "Liam", "Mei", "Nia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Xochitl", "Yusuf", "Zoë"}
	last     = []string{"Okafor", "Nguyen", "García", "Petrov", "Mensah", "Haddad", "Rossi", "Tanaka", "Ferreira", "Williams", "Kowalski", "O'Brien", "Chen", "Adeyemi", "Lindqvist", "Sharma", "Dubois", "Morales", "Berg", "Aziz"}
)

// gen draws documents.
type gen struct {
	rng  *rand.Rand
	base time.Time
}

func (g *gen) name() string {
	return first[g.rng.IntN(len(first))] + " " + last[g.rng.IntN(len(last))]
}

func (g *gen) id() string { return fmt.Sprintf("stu_%010x", g.rng.Uint64()>>24) }

// ts is an RFC 3339 timestamp within a year of base, with milliseconds and
// a zone offset.
func (g *gen) ts() string {
	t := g.base.Add(time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour))))
	zones := []int{0, -5, -8, 1, 9}
	z := zones[g.rng.IntN(len(zones))]
	return t.In(time.FixedZone("", z*3600)).Format("2006-01-02T15:04:05.000Z07:00")
}

// doc is one where document; newlyRejected ones carry a field the strict
// schema does not know.
func (g *gen) doc(newlyRejected bool) string {
	school := schools[g.rng.IntN(len(schools))]
	switch {
	case newlyRejected:
		return fmt.Sprintf(`{"studentName":%q,"school":%q,"updated_after":%q,"grade":{"$gt":%d}}`, g.name(), school, g.ts(), g.rng.IntN(12))
	case g.rng.IntN(2) == 0:
		return fmt.Sprintf(`{"id":%q,"name":%q,"school":%q,"updated_after":%q,"grade":{"$gt":%d,"$lt":%d}}`, g.id(), g.name(), school, g.ts(), g.rng.IntN(6), 6+g.rng.IntN(6))
	default:
		return fmt.Sprintf(`{"name":%q,"school":%q,"grade":%d,"updated_after":%q,"after":%q}`, g.name(), school, g.rng.IntN(13), g.ts(), fmt.Sprintf("cur_%016x", g.rng.Uint64()))
	}
}

func main() {
	n := flag.Int("n", 1000000, "lines")
	docs := flag.Int("docs", 0, "draw every document from this many (0: mostly distinct)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	rng := rand.New(rand.NewPCG(7, 11))
	g := &gen{rng: rng, base: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)}

	// A few popular queries, or the K documents of -docs; 5% of either
	// kind are newly rejected.
	pool := make([]string, 50)
	if *docs > 0 {
		pool = make([]string, *docs)
	}
	for i := range pool {
		pool[i] = g.doc(i%20 == 0)
	}
	seed := maphash.MakeSeed()
	distinct := map[uint64]struct{}{}
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i := 0; i < *n; i++ {
		var where string
		switch {
		case *docs > 0:
			where = pool[rng.IntN(len(pool))]
		case rng.IntN(10) == 0:
			where = pool[rng.IntN(len(pool))]
		default:
			where = g.doc(rng.IntN(100) < 5)
		}
		distinct[maphash.String(seed, where)] = struct{}{}
		at := start.Add(time.Duration(i) * 37 * time.Millisecond)
		fmt.Fprintf(w, `{"time":%q,"request_id":"req_%016x","trace_id":"%016x%016x","partner":%q,"client_ip":"198.51.100.%d","method":"GET","path":"/v1/students","status":200,"latency_ms":%d,"user_agent":"partner-sdk/2.%d","where":%s}`+"\n",
			at.Format(time.RFC3339Nano), rng.Uint64(), rng.Uint64(), rng.Uint64(), partners[rng.IntN(len(partners))], rng.IntN(255), rng.IntN(900), rng.IntN(9), where)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genreplay:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "genreplay: %d lines, %d distinct where documents (%.1f%%)\n", *n, len(distinct), 100*float64(len(distinct))/float64(max(*n, 1)))
}
