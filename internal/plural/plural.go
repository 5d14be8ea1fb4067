// Package plural writes counts in messages: "1 gate", "2 gates", never
// "1 gates".
package plural

import (
	"strconv"
	"strings"
)

// irregular are the plurals Count does not form by adding "s".
var irregular = map[string]string{
	"person":     "people",
	"dependency": "dependencies",
	"entry":      "entries",
	"property":   "properties",
	"match":      "matches",
	"is":         "are",
	"was":        "were",
	"has":        "have",
	"it":         "them",
}

// Count is n and noun, the noun in the plural unless n is 1: "1 gate",
// "2 gates", "0 problems", "3 people". Every message that counts
// something goes through it.
func Count[N Integer](n N, noun string) string {
	return strconv.FormatInt(int64(n), 10) + " " + Noun(n, noun)
}

// Integer is any integer type a count comes in.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Noun is noun in the plural unless n is 1 ("gate", "gates"); the last
// word of a phrase is the one that changes ("plan file", "plan files").
func Noun[N Integer](n N, noun string) string {
	if n == 1 || noun == "" {
		return noun
	}
	head, last := "", noun
	if i := strings.LastIndexByte(noun, ' '); i >= 0 {
		head, last = noun[:i+1], noun[i+1:]
	}
	if p, ok := irregular[last]; ok {
		return head + p
	}
	switch {
	case strings.HasSuffix(last, "s"), strings.HasSuffix(last, "x"), strings.HasSuffix(last, "sh"), strings.HasSuffix(last, "ch"):
		return head + last + "es"
	case strings.HasSuffix(last, "y") && len(last) > 1 && !strings.ContainsRune("aeiou", rune(last[len(last)-2])):
		return head + last[:len(last)-1] + "ies"
	}
	return head + last + "s"
}
