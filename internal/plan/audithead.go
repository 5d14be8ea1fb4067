package plan

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// AuditHead is the head of a plan's audit log as the plan file records
// it: which log (database) holds it, how many entries the plan has and the
// hash of the last. The plan file lives in git and is reviewed, so
// deleting the tail of the log (in the database) shows as a log shorter
// than its recorded head, and a release of the plan from another database
// shows as another log id.
type AuditHead struct {
	Log     string `yaml:"log,omitempty" json:"log,omitempty"`
	Entries int    `yaml:"entries" json:"entries"`
	Hash    string `yaml:"hash" json:"hash"`
}

// WriteAuditHead records the audit head in plan id's file, keeping the
// rest of the file as it is (comments included); the file is replaced
// atomically.
func WriteAuditHead(ws *workspace.Workspace, id string, head AuditHead) error {
	file := File(ws, id)
	data, err := os.ReadFile(file)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return errkind.New(errkind.Invalid, "%s: cannot record the audit head: the file is not a plan mapping", file)
	}
	root := doc.Content[0]
	val := &yaml.Node{Kind: yaml.MappingNode}
	if head.Log != "" {
		val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "log"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: head.Log})
	}
	val.Content = append(val.Content, []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "entries"}, {Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(head.Entries)},
		{Kind: yaml.ScalarNode, Value: "hash"}, {Kind: yaml.ScalarNode, Value: head.Hash},
	}...)
	set := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "audit" {
			root.Content[i+1], set = val, true
		}
	}
	if !set {
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: "audit", HeadComment: "The head of this plan's audit log (written by cascade after every release action)."}
		root.Content = append(root.Content, key, val)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := workspace.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("recording the audit head in %s: %w", file, err))
	}
	return nil
}

// DiskAuditHead reads the audit head recorded in the plan file on disk
// (nil if none): Save keeps it, so that a plan loaded before a release
// action never writes back an older head.
func DiskAuditHead(file string) *AuditHead {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc struct {
		Audit *AuditHead `yaml:"audit"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	return doc.Audit
}
