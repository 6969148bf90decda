// Package tap writes Test Anything Protocol (TAP version 13) output.
//
// It is skiff's own implementation of the API that the OCI runtime-tools
// validation suite imports as github.com/mndrix/tap-go (which Debian does not
// package). The conformance harness copies this file into the suite's GOPATH.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T writes one TAP stream.
type T struct {
	// TODO marks every following result as a TODO result.
	TODO bool
	// Writer receives the output; nil means standard output.
	Writer io.Writer

	// next is the number of the next result. It is a pointer so that the
	// copy returned by Todo() shares the numbering with its parent.
	next *int
}

// New returns a stream whose first result is number 1.
func New() *T {
	n := 1
	return &T{next: &n}
}

func (t *T) out() io.Writer {
	if t.Writer == nil {
		return os.Stdout
	}
	return t.Writer
}

func (t *T) printf(format string, args ...interface{}) {
	fmt.Fprintf(t.out(), format, args...)
}

// Header prints the version line and, when testCount > 0, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok records one result.
func (t *T) Ok(test bool, description string) {
	status := "ok"
	if !test {
		status = "not ok"
	}
	if t.TODO {
		t.printf("%s %d # TODO %s\n", status, *t.next, description)
	} else {
		t.printf("%s %d - %s\n", status, *t.next, description)
	}
	*t.next++
}

// Pass records a passing result.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail records a failing result.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip records count skipped results.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", *t.next, description)
		*t.next++
	}
}

// Todo returns a copy whose results are TODO results. The copy shares the
// result numbering with t.
func (t *T) Todo() *T {
	todo := *t
	todo.TODO = true
	return &todo
}

// Count returns the number of results recorded so far.
func (t *T) Count() int { return *t.next - 1 }

// AutoPlan prints a plan covering every result recorded so far.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Diagnostic prints message as comment lines.
func (t *T) Diagnostic(message string) {
	for _, line := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		t.printf("# %s\n", line)
	}
}

// Diagnosticf formats and prints a diagnostic message.
func (t *T) Diagnosticf(format string, args ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, args...))
}

// YAML prints data as an indented YAML block. Indented JSON is valid YAML.
func (t *T) YAML(data interface{}) error {
	body, err := json.MarshalIndent(data, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", body)
	return nil
}
