// Package protocol defines the messages herd's controller and its pytest
// workers exchange, and their encoding: one JSON object per line on two
// dedicated pipes (the worker reads commands on fd 3 and writes messages on
// fd 4), never on stdin or stdout, which belong to the tests.
//
// A worker's first message is a Hello carrying the protocol Version; the
// controller refuses a worker that speaks another version. The package is a
// leaf: it starts no processes.
package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version. It changes whenever a message changes
// meaning; the embedded Python plugin carries the same number.
const Version = 1

// MaxLine is the longest message line accepted. The worker truncates captured
// output long before this, so a longer line means a broken or hostile peer.
const MaxLine = 64 << 20

// Environment variables the controller sets for a worker.
const (
	// EnvMagic must hold MagicValue, so the plugin never acts outside herd.
	EnvMagic   = "HERD_WORKER_MAGIC"
	MagicValue = "herd-worker-b5c1"
	// EnvCmdFD and EnvMsgFD name the worker's command and message fds.
	EnvCmdFD = "HERD_CMD_FD"
	EnvMsgFD = "HERD_MSG_FD"
	// EnvBoardFD names the worker's phase board fd (see Board).
	EnvBoardFD = "HERD_BOARD_FD"
	// EnvSplit set to "1" splits collection: the worker's session stops at
	// the files, sends them (TypeFiles) and collects only those it is told
	// to (CmdCollect) or whose tests it is handed (CmdRun).
	EnvSplit = "HERD_SPLIT"
	// EnvLive holds, under -s, the token of the markers the worker writes
	// into its stdout and stderr when a test starts and ends:
	// LiveMarker + token + ":" + nodeid + "\x00" ("" after the test).
	EnvLive = "HERD_LIVE"

	// EnvMaxFail holds herd's -x (1) or --maxfail N, when given: a worker
	// that knows of a limit (here or in its pytest options) sends a failed
	// test's done at once and asks (TypeAsk) before its next test.
	EnvMaxFail = "HERD_MAXFAIL"

	// EnvDeps turns on the recording of what each test depends on (see
	// TypeDeps): "1" records, "auto" records only where the interpreter
	// has sys.monitoring (Python 3.12 and newer), anything else records
	// nothing. herd itself sends "1" or "0" (see cmd/herd's depsEnv).
	EnvDeps = "HERD_DEPS"
)

// LiveMarker starts a live-output marker (see EnvLive).
const LiveMarker = "\x00herd:"

// BoardSize is the size of a worker's phase board in bytes: the sequence
// number and phase of the test started last (bytes 0-15, see Board), then
// two uint32 words for taking tests back (see CmdRevoke): the revoke
// generation the controller wrote last (BoardGenOffset) and the sequence
// number of the test the worker claimed last (BoardClaimOffset).
const BoardSize = 24

// The offsets of the board's revoke words, both little-endian uint32s.
const (
	BoardGenOffset   = 16
	BoardClaimOffset = 20
)

// Board is what a worker's phase board held when the worker ended: the
// worker writes into a shared page, without a system call, the sequence
// number of the test it started last (counting its start messages from 1)
// and that test's phase. A worker sends a test's reports together with the
// next test's start, so after a crash the board is what says whether the
// test died in setup, call or teardown.
type Board struct {
	Seq   uint32
	Phase string
}

// ParseBoard decodes a phase board's bytes; a short or empty board gives
// the zero Board.
func ParseBoard(b []byte) Board {
	if len(b) < BoardSize {
		return Board{}
	}
	seq := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	phase := string(bytes.TrimRight(b[4:BoardGenOffset], "\x00"))
	switch phase {
	case "setup", "call", "teardown":
	default:
		return Board{}
	}
	return Board{Seq: seq, Phase: phase}
}

// Message types sent by a worker.
const (
	TypeHello     = "hello"
	TypeSession   = "session"
	TypeCollected = "collected"
	// TypeFiles comes in place of collected when collection is split
	// (EnvSplit): the files the session found, none of them collected yet.
	TypeFiles = "files"
	// TypeCollecting says the worker collects files (Files) it was not
	// given at first, because it was handed their tests; it may be silent
	// for as long as a collection takes.
	TypeCollecting = "collecting"
	TypeWant       = "want"
	TypeStart      = "start"
	TypeReport     = "report"
	TypeDone       = "done"
	TypeWarning    = "warning"
	TypeDropped    = "dropped"
	// TypeMissing gives back tests (IDs) the worker was handed but could
	// not collect: collected late, their file gave it other tests. They
	// go to another process.
	TypeMissing = "missing"
	// TypeAsk comes after a test that failed when a --maxfail limit is
	// set: the worker holds its queue until CmdGo (or CmdStop).
	TypeAsk = "ask"
	// TypeNodeIn asks, from the worker's pytest_configure, for the
	// workerinput xdist's controller would hand it: herd's xdist
	// controller runs pytest_configure_node for the worker, and the
	// answer is CmdWorkerInput. The worker waits for it. A worker sends it
	// only when the suite has a part in xdist's controller (a plugin or
	// conftest implements one of its hooks).
	TypeNodeIn = "nodein"
	// TypeWorkerOutput carries, at the end of the worker's session,
	// config.workeroutput (Data, encoded as workerinput is), for the
	// controller's pytest_testnodedown. Only a worker that sent
	// TypeNodeIn sends it.
	TypeWorkerOutput = "workeroutput"
	// TypeFingerprint describes one project file a dependency of a test
	// is in (Fingerprint), sent once per file and process, before the
	// first TypeDeps that names it.
	TypeFingerprint = "fp"
	// TypeDeps lists what the test ID depended on while it ran (Keys),
	// setup and teardown included; it comes just before the test's done,
	// only while recording is on (EnvDeps).
	TypeDeps = "deps"
	TypeBye  = "bye"
)

// Command types sent by the controller.
const (
	// CmdRun appends tests to the worker's queue.
	CmdRun = "run"
	// CmdNone answers a non-idle Want: there is no more work now, so the
	// worker runs its current test as the last one (full teardown).
	CmdNone = "none"
	// CmdStop asks the worker to drop its queue after the current test and
	// report what it dropped.
	CmdStop = "stop"
	// CmdGo answers TypeAsk: the run goes on, run the queue.
	CmdGo = "go"
	// CmdShutdown asks the worker to finish its session and exit.
	CmdShutdown = "shutdown"
	// CmdCollect asks a worker that sent files to collect some of them
	// (Files); it answers with a collected message of their tests.
	CmdCollect = "collect"
	// CmdRevoke takes tests (IDs) the worker holds but has not started back,
	// without an answer: they go to an idle worker at once. It is sent only
	// under the phase board's lock, with the board's generation word set
	// to Gen, and only while the board says the worker has claimed no test
	// the controller does not know has started. The worker claims each
	// test on the board under the same lock before it starts it, and a
	// generation it has not seen makes it read its commands up to this one
	// first, so a revoked test never starts there.
	CmdRevoke = "revoke"
	// CmdWorkerInput answers TypeNodeIn: Data is the workerinput, or Error
	// says why there is none (the worker then ends).
	CmdWorkerInput = "workerinput"
)

// Message is one line from a worker. Type says which fields are set.
type Message struct {
	Type string `json:"t"`

	// hello, then session once pytest is configured
	Protocol int    `json:"v,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Python   string `json:"python,omitempty"`
	Pytest   string `json:"pytest,omitempty"`
	Rootdir  string `json:"rootdir,omitempty"`
	CacheDir string `json:"cachedir,omitempty"`
	// InvocationDir is where pytest was started; reports show nodeids
	// relative to it, as pytest does.
	InvocationDir string   `json:"invocation_dir,omitempty"`
	HeaderLines   []string `json:"header,omitempty"`
	// Options are the worker's effective pytest options (command line plus
	// ini addopts) that the controller acts on.
	Options *Options `json:"options,omitempty"`
	// Cov holds pytest-cov's options when coverage is on, passed as they are
	// to the coverage finisher.
	Cov json.RawMessage `json:"cov,omitempty"`

	// collected
	Tests      []TestInfo        `json:"tests,omitempty"`
	Errors     []CollectionError `json:"errors,omitempty"`
	Deselected int               `json:"deselected,omitempty"`
	// Skips are modules skipped at collection time (pytest.skip with
	// allow_module_level): Path is the node, Message the skip line.
	Skips []CollectionError `json:"skips,omitempty"`
	// IniTimeout is pytest-timeout's ini option "timeout" in seconds.
	IniTimeout float64 `json:"ini_timeout,omitempty"`
	// ReportLines are what plugins print after pytest's collected line
	// (pytest_report_collectionfinish: "run-last-failure: ...").
	ReportLines []string `json:"report_lines,omitempty"`

	// files: what the session's walk found, in collection order.
	Files []File `json:"files,omitempty"`

	// want: Idle is true when the worker has no test in hand, so the
	// controller may keep it waiting; otherwise it must answer at once.
	Idle bool `json:"idle,omitempty"`

	// start, report, done: the test's nodeid.
	ID string `json:"id,omitempty"`

	// report
	Report *Report `json:"report,omitempty"`

	// done: the test's protocol took this many seconds, setup to teardown,
	// and left these processes or threads running.
	Duration float64 `json:"dur,omitempty"`
	Leaks    []Leak  `json:"leaks,omitempty"`
	// Spawned says the test started a process: the controller then looks
	// for orphans it left at once.
	Spawned bool `json:"spawned,omitempty"`
	// PassedPhases lists, one letter each (s, c, t), the phases that
	// passed plainly: no output, no category of a plugin's. Their reports
	// are not sent; PassedDurations holds their durations in that order.
	PassedPhases    string    `json:"pp,omitempty"`
	PassedDurations []float64 `json:"pd,omitempty"`
	// Props are the test's user properties (record_property), name and
	// value, in the order recorded.
	Props [][2]string `json:"props,omitempty"`

	// dropped: tests the worker will not run after a stop; missing:
	// tests it could not collect.
	IDs []string `json:"ids,omitempty"`

	// warning
	Warning *Warning `json:"warning,omitempty"`

	// bye: pytest.main's exit code, sent just before the worker exits.
	Code int `json:"code,omitempty"`

	// workeroutput: config.workeroutput, marshal-encoded then base64
	// (opaque to herd's Go side).
	Data string `json:"data,omitempty"`

	// fp: one file's fingerprint.
	Fingerprint *Fingerprint `json:"fp,omitempty"`
	// deps: the test's dependencies, each a rootdir-relative path
	// (slashes) and a part of that file (see DepKey).
	Keys []DepKey `json:"keys,omitempty"`
}

// DepKey is one dependency of a test: a file, relative to the rootdir
// with forward slashes, and a part of it. Part "" is the whole file's
// content; in a Python file, PartModule is its module-level code (every
// statement outside a function body) and any other part is the qualified
// name of a function or method (co_qualname: "Class.method",
// "outer.<locals>.inner") whose body it is.
type DepKey struct {
	Path string `json:"p"`
	Part string `json:"q,omitempty"`
}

// PartModule is the part of a Python file that is its module-level code.
const PartModule = "<module>"

// Fingerprint is what a file held when a test depended on it: SHA is the
// hex SHA-256 of its content; Parts, for a Python file that parses, maps
// each part (PartModule and every function's qualified name) to a hash of
// that part's code alone, so that an edit elsewhere in the file leaves it
// unchanged. Parts is nil for other files, and for a Python file that
// does not parse.
type Fingerprint struct {
	Path  string            `json:"p"`
	SHA   string            `json:"sha"`
	Parts map[string]string `json:"parts,omitempty"`
}

// Options are pytest options as the worker's pytest parsed them, ini addopts
// included, for the controller to act on the same way.
type Options struct {
	Verbose                    int     `json:"verbose"`
	ReportChars                string  `json:"reportchars"`
	TBStyle                    string  `json:"tbstyle"`
	ShowCapture                string  `json:"showcapture"`
	MaxFail                    int     `json:"maxfail"`
	Durations                  *int    `json:"durations"`
	DurationsMin               float64 `json:"durations_min"`
	JUnitXML                   string  `json:"junitxml"`
	ContinueOnCollectionErrors bool    `json:"continue_on_collection_errors"`
	// Timeout is pytest-timeout's --timeout option when given in addopts.
	Timeout float64 `json:"timeout"`
	Capture string  `json:"capture"`
	// FailedFirst is pytest's --ff.
	FailedFirst bool `json:"failedfirst"`
	// JUnit holds pytest's junitxml settings; nil from a worker that
	// sent none.
	JUnit *JUnit `json:"junit,omitempty"`
}

// JUnit is pytest's junitxml settings as a worker's session reads them:
// the ini options junit_suite_name, junit_logging,
// junit_log_passing_tests, junit_duration_report and junit_family (-o
// overrides included) and --junit-prefix.
type JUnit struct {
	SuiteName       string `json:"suite_name"`
	Logging         string `json:"logging"`
	LogPassingTests bool   `json:"log_passing_tests"`
	DurationReport  string `json:"duration_report"`
	Family          string `json:"family"`
	Prefix          string `json:"prefix"`
}

// TestInfo is one collected test.
type TestInfo struct {
	ID      string   `json:"id"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	Markers []string `json:"markers,omitempty"`
	// Timeout is the test's timeout in seconds from its timeout marker; 0
	// means the marker is absent.
	Timeout float64 `json:"timeout,omitempty"`
	// Group is the xdist_group name, if any.
	Group string `json:"group,omitempty"`
	// Reruns is N of a flaky(reruns=N) marker (pytest-rerunfailures'
	// spelling), 0 without one.
	Reruns int `json:"reruns,omitempty"`
}

// File is one file-level collector of a split collection: a test module, a
// doctest file, a plugin's file; collecting it imports it.
type File struct {
	ID   string `json:"id"`
	Size int64  `json:"size,omitempty"`
}

// CollectionError is one failed collector.
type CollectionError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Report is one phase (setup, call, teardown) of a test, already classified
// by pytest's own pytest_report_teststatus hook.
type Report struct {
	When string `json:"when"`
	// Outcome is pytest's raw outcome: passed, failed or skipped.
	Outcome string `json:"outcome"`
	// Category is the status category pytest reports: passed, failed,
	// skipped, xfailed, xpassed, error, or "" when pytest shows nothing.
	Category string  `json:"category"`
	Duration float64 `json:"dur"`
	Longrepr string  `json:"longrepr,omitempty"`
	// CrashLine is the one-line form used by --tb=line.
	CrashLine string `json:"crashline,omitempty"`
	// Message is the short summary reason (reprcrash message, skip reason).
	Message  string    `json:"message,omitempty"`
	HeadLine string    `json:"head,omitempty"`
	Sections []Section `json:"sections,omitempty"`
	WasXfail string    `json:"wasxfail,omitempty"`
}

// PassedReports returns the reports a done message stands for in
// PassedPhases: what pytest reports for a phase that passed, with its
// duration.
func (m *Message) PassedReports() []Report {
	out := make([]Report, 0, len(m.PassedPhases))
	for k, c := range m.PassedPhases {
		r := Report{Outcome: "passed"}
		switch c {
		case 's':
			r.When = "setup"
		case 'c':
			r.When, r.Category = "call", "passed"
		case 't':
			r.When = "teardown"
		default:
			continue
		}
		if k < len(m.PassedDurations) {
			r.Duration = m.PassedDurations[k]
		}
		out = append(out, r)
	}
	return out
}

// Section is one captured-output section.
type Section struct {
	Title   string `json:"title"`
	Content string `json:"content"`
}

// Warning is one recorded warning, already formatted as pytest prints it.
type Warning struct {
	// NodeID is the test that raised it, or for a warning outside any
	// test where it was raised ("test_x.py:2"), as pytest shows it.
	NodeID  string `json:"nodeid"`
	Message string `json:"message"`
	// When is pytest's phase: "config", "collect" or "runtest".
	When string `json:"when,omitempty"`
}

// Leak is a process or non-daemon thread a test left running. The worker has
// already killed a leaked process.
type Leak struct {
	Kind string `json:"kind"`
	PID  int    `json:"pid,omitempty"`
	What string `json:"what"`
	// Scope is the node of the wider-scoped fixture the leak was set up
	// beside, when it outlived that node's teardown.
	Scope string `json:"scope,omitempty"`
}

// Command is one line from the controller.
type Command struct {
	Type string   `json:"t"`
	IDs  []string `json:"ids,omitempty"`
	// Files are the node ids of the files to collect (CmdCollect).
	Files []string `json:"files,omitempty"`
	// Gen is the board generation of a CmdRevoke.
	Gen uint32 `json:"gen,omitempty"`
	// Data is the workerinput of a CmdWorkerInput, marshal-encoded then
	// base64 (opaque to herd's Go side); Error replaces it when the
	// controller failed.
	Data  string `json:"data,omitempty"`
	Error string `json:"error,omitempty"`
	// Collected is, on a CmdShutdown, how many tests the whole run
	// collected. The worker's session reports it as its testscollected,
	// as an xdist worker, which collects the whole suite, does: a worker
	// that was handed none of the run's files then ends with pytest's
	// exit status 0 or 1, not 5 (no tests collected).
	Collected int `json:"collected,omitempty"`
}

// ErrLineTooLong is returned by a Reader for a line longer than MaxLine.
var ErrLineTooLong = errors.New("protocol line too long")

// Reader decodes messages, one per line, with a bounded line length.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader returns a Reader that rejects lines longer than max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadLine returns the next line without its newline. A line longer than the
// limit is discarded up to its newline and reported as ErrLineTooLong.
func (r *Reader) ReadLine() ([]byte, error) {
	if cap(r.buf) > 1<<20 {
		// A collection of 100,000 tests is one line of megabytes; the
		// lines after it are small, and need not keep its buffer.
		r.buf = nil
	}
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.r.ReadSlice('\n')
		if !tooLong {
			// The line's length without its newline; only a chunk read
			// without error ends with one.
			n := len(r.buf) + len(chunk)
			if err == nil {
				n--
			}
			if n > r.max {
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && tooLong {
				return nil, ErrLineTooLong
			}
			if err == io.EOF && len(r.buf) > 0 {
				return bytes.TrimRight(r.buf, "\n"), nil
			}
			return nil, err
		}
		if tooLong {
			return nil, ErrLineTooLong
		}
		return bytes.TrimRight(r.buf, "\n"), nil
	}
}

// HasLine reports whether a whole line is already buffered, so that the
// next Read returns without waiting for the peer.
func (r *Reader) HasLine() bool {
	n := r.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// Read decodes the next message.
func (r *Reader) Read() (*Message, error) {
	line, err := r.ReadLine()
	if err != nil {
		return nil, err
	}
	if m, ok := decodeFast(line); ok {
		return m, nil
	}
	var m Message
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	if m.Type == "" {
		return nil, errors.New("decode message: no type")
	}
	return &m, nil
}

// Encode returns the wire form of a command: JSON and a newline.
func Encode(c Command) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// A Command holds only strings; Marshal cannot fail on it.
		panic(err)
	}
	return append(b, '\n')
}

// CheckHello verifies that m is a Hello in this protocol version.
func CheckHello(m *Message) error {
	if m.Type != TypeHello {
		return fmt.Errorf("%w: first message was %q, not hello", ErrHandshake, m.Type)
	}
	if m.Protocol != Version {
		return fmt.Errorf("%w: worker speaks protocol %d, controller %d", ErrHandshake, m.Protocol, Version)
	}
	return nil
}

// ErrHandshake is wrapped by every handshake failure.
var ErrHandshake = errors.New("worker handshake failed")
