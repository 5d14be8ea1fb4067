package gitrepo

import (
	"context"
	"strings"
)

func checkCommitIDs(ids ...string) error {
	for _, id := range ids {
		if err := CheckCommitID(id); err != nil {
			return err
		}
	}
	return nil
}

// LogEntry is one commit of a Log.
type LogEntry struct {
	ID      string
	Author  string
	Subject string
}

// Log lists the commits reachable from to but not from from (both full
// commit ids), newest first.
func (r *Repo) Log(ctx context.Context, from, to string) ([]LogEntry, error) {
	if err := checkCommitIDs(from, to); err != nil {
		return nil, err
	}
	out, err := r.git(ctx, "log", []string{"--format=%H%x00%an%x00%s"}, []string{from + ".." + to})
	if err != nil {
		return nil, err
	}
	var log []LogEntry
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, "\x00", 3)
		if len(f) == 3 {
			log = append(log, LogEntry{ID: f[0], Author: f[1], Subject: f[2]})
		}
	}
	return log, nil
}
