package release

import (
	"context"

	"github.com/cascade-dev/cascade/internal/identity"
)

// ActThrough makes e act for person through server (a `servers:` entry
// of cascade.yaml), signing with the server's own key at keyFile: the
// action's statement names the server and the person (identity.ActionFor)
// and pins the plan's audit history and the database's log, as a person's
// does, and every entry the action writes is signed with the same key,
// naming both (see presignedFor). `release log --verify` accepts such an
// entry only while server is listed and the entry's actor is person.
func (e *Engine) ActThrough(ctx context.Context, server, keyFile, person, planID, action string, args map[string]string) error {
	all := map[string]string{}
	for k, v := range args {
		all[k] = v
	}
	var err error
	if all["head"], all["log"], err = e.Pin(ctx, planID); err != nil {
		return err
	}
	sig, err := identity.Sign(ctx, keyFile, false, identity.ActionFor(server, person, planID, action, e.now(), all))
	if err != nil {
		return err
	}
	e.Signature = sig
	e.Sign = func(ctx context.Context, statement string) (*identity.Signature, error) {
		return identity.Sign(ctx, keyFile, false, statement)
	}
	return nil
}
