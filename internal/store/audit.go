package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Entry is one audit log entry.
type Entry struct {
	Seq      int64          `json:"seq"`
	Release  int64          `json:"release"`
	Plan     string         `json:"plan"`
	At       string         `json:"at"`
	Actor    string         `json:"actor"`
	Action   string         `json:"action"`
	Details  map[string]any `json:"details"`
	PrevHash string         `json:"prev_hash"`
	Hash     string         `json:"hash"`
}

func entryHash(e Entry) string {
	body, _ := json.Marshal([]any{e.Seq, e.Release, e.Plan, e.At, e.Actor, e.Action, e.Details, e.PrevHash})
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Append adds an entry to the audit log inside tx, chained to the last one.
func Append(ctx context.Context, tx *Tx, release int64, plan, at, actor, action string, details map[string]any) error {
	var seq int64
	var prev string
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if details == nil {
		details = map[string]any{}
	}
	// Round-trip the details so the hash covers exactly what is stored.
	raw, err := json.Marshal(details)
	if err != nil {
		return err
	}
	var stored map[string]any
	_ = json.Unmarshal(raw, &stored)
	e := Entry{Seq: seq + 1, Release: release, Plan: plan, At: at, Actor: actor, Action: action, Details: stored, PrevHash: prev}
	e.Hash = entryHash(e)
	_, err = tx.ExecContext(ctx, "INSERT INTO audit (seq, release_id, plan, at, actor, action, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
		e.Seq, release, plan, at, actor, action, string(raw), e.PrevHash, e.Hash)
	return err
}

// Entries reads the audit log of a plan (all plans when plan is ""), in order.
func (s *Store) Entries(ctx context.Context, plan string) ([]Entry, error) {
	q := "SELECT seq, coalesce(release_id, 0), plan, at, actor, action, details, prev_hash, hash FROM audit"
	var args []any
	if plan != "" {
		q += " WHERE plan = ?"
		args = append(args, plan)
	}
	rows, err := s.DB.QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var details string
		if err := rows.Scan(&e.Seq, &e.Release, &e.Plan, &e.At, &e.Actor, &e.Action, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			e.Details = map[string]any{"unreadable": details}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyChain checks the whole audit log: every entry's hash, every link
// to the entry before it, and no gap in the sequence. It returns the
// problems found, none for an intact log.
func (s *Store) VerifyChain(ctx context.Context) ([]string, error) {
	all, err := s.Entries(ctx, "")
	if err != nil {
		return nil, err
	}
	var problems []string
	prev := ""
	var want int64 = 1
	for _, e := range all {
		if e.Seq != want {
			problems = append(problems, fmt.Sprintf("entries %d to %d are missing (deleted)", want, e.Seq-1))
		}
		if e.PrevHash != prev {
			problems = append(problems, fmt.Sprintf("entry %d does not follow the entry before it (an entry was deleted or edited)", e.Seq))
		}
		if entryHash(e) != e.Hash {
			problems = append(problems, fmt.Sprintf("entry %d (%s by %s) was edited after it was written", e.Seq, e.Action, e.Actor))
		}
		prev = e.Hash
		want = e.Seq + 1
	}
	return problems, nil
}

// PlanHead is the head of a plan's audit entries: how many there are and
// the hash of the last ("" when there is none).
func (s *Store) PlanHead(ctx context.Context, plan string) (int, string, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, "SELECT count(*) FROM audit WHERE plan = ?", plan).Scan(&n); err != nil {
		return 0, "", err
	}
	if n == 0 {
		return 0, "", nil
	}
	var hash string
	err := s.DB.QueryRowContext(ctx, "SELECT hash FROM audit WHERE plan = ? ORDER BY seq DESC LIMIT 1", plan).Scan(&hash)
	return n, hash, err
}

// LogID names this database's audit log: 32 random hex digits made when
// the database was created. A plan file's audit head records it, so a
// plan's log kept in another database is never taken for this one.
func (s *Store) LogID(ctx context.Context) (string, error) {
	var id string
	err := s.DB.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'log_id'").Scan(&id)
	return id, err
}

// HashEntry is the hash an entry must carry: over its sequence number,
// release, plan, time, actor, action, details and the previous hash.
func HashEntry(e Entry) string { return entryHash(e) }
