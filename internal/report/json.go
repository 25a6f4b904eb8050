package report

import (
	"io"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// JSONVersion is the version of the JSON report's schema: the codec's.
const JSONVersion = codec.Version

// WriteJSON writes run as one JSON document: the run's totals, a summary
// counting each outcome that occurred, every test once in run order, the
// collection errors, the warnings and the workers that stalled. ReadJSON
// reads it back. Every test has the same keys; lists are [] rather than
// null when empty, and crash and diagnosis are null when there is none.
func WriteJSON(w io.Writer, run *result.Run) error {
	return codec.WriteRun(w, run)
}
