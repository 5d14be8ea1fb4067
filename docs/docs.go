// Package docs holds cascade's reference: a page for each file cascade
// reads and each workflow, in Markdown. The pages are embedded in the
// binary, so that `cascade help TOPIC` prints them offline, and every
// example in them is run by a test (cmd/cascade/docs_test.go) against the
// demo organisation.
package docs

import (
	"embed"
	"strings"
)

//go:embed *.md
var pages embed.FS

// Topic is one page: Name is its file name without .md, what `cascade help`
// takes; Title the page's first heading.
type Topic struct {
	Name  string
	Title string
}

// order is the order `cascade help` lists the topics in: the file formats,
// then the workflows, then troubleshooting.
var order = []string{"cascade-yaml", "repo-config", "plan-files", "verify", "release", "replay", "auth", "ci", "serve", "troubleshooting"}

// Topics lists the pages in reading order.
func Topics() []Topic {
	out := make([]Topic, 0, len(order))
	for _, name := range order {
		text, _ := Page(name)
		title, _, _ := strings.Cut(text, "\n")
		out = append(out, Topic{Name: name, Title: strings.TrimSpace(strings.TrimPrefix(title, "#"))})
	}
	return out
}

// Page returns the Markdown text of topic name.
func Page(name string) (string, bool) {
	if strings.ContainsAny(name, "/\\.") {
		return "", false
	}
	data, err := pages.ReadFile(name + ".md")
	if err != nil {
		return "", false
	}
	return string(data), true
}

// Files lists the embedded page files (NAME.md), for the test that every
// page is a topic.
func Files() []string {
	entries, _ := pages.ReadDir(".")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
