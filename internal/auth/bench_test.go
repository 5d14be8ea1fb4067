package auth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// BenchmarkPerson is the cost a request pays to be authenticated by its
// token: one indexed read (and a write of last_used at most once a
// minute), on each backend.
func BenchmarkPerson(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			tok := e.login("alice", "token").Token
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/api/v1/graph", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					if p, err := e.svc.Person(req); p != "alice" || err != nil {
						b.Errorf("Person: %q, %v", p, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLogin is one whole login over HTTP: challenge, ssh-keygen
// signing on the client side, verification and the token's transaction.
func BenchmarkLogin(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.login("alice", "token")
			}
		})
	}
}
