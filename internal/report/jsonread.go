package report

import (
	"io"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// ReadJSON reads a report WriteJSON wrote (of this herd's version of the
// schema, or an older one) back into a run; see codec.DecodeRun for what
// it holds. Keys it does not know are ignored, and keys a report of an
// older herd lacks read as zero. Empty lists read as nil.
func ReadJSON(r io.Reader) (*result.Run, error) {
	return codec.ReadRun(r)
}
