// Package release executes a plan's runbooks one step at a time: it runs
// what can be automated, asks a person to do and confirm what cannot,
// never skips a step without a recorded override, and resumes exactly where
// it stopped after a crash. State lives in SQLite; every change is one
// transaction and one entry of a hash-chained audit log.
package release

import "github.com/cascade-dev/cascade/internal/runbook"

// Spec and Data are the runbook model's step and template data.
type (
	Spec = runbook.Spec
	Data = runbook.Data
)

// Step kinds.
const (
	Run    = runbook.Run
	Manual = runbook.Manual
	Check  = runbook.Check
	Verify = runbook.Verify
	Gate   = runbook.Gate
	Wait   = runbook.Wait
	Tag    = runbook.Tag
)
