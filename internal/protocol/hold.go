package protocol

// Holding a worker started ahead (herd watch's warm pool): with EnvHold set
// to "1", the worker configures pytest, sends hello and session, then
// TypeHeld, and waits for CmdResume before it collects anything. On
// CmdResume it checks whether a project file it imported (a module or
// conftest under the rootdir, or the ini file) changed on disk since it
// started, and answers TypeResumed with those files in IDs: none, and it
// goes on as any worker; some, and it exits at once (status 0), to be
// replaced by a fresh process, never reloaded in place. Any other command
// than CmdResume ends a held worker.
const (
	// EnvHold set to "1" makes the worker hold before collection.
	EnvHold = "HERD_HOLD"
	// TypeHeld says the worker holds, configured, before collection.
	TypeHeld = "held"
	// TypeResumed answers CmdResume: IDs are the imported project files
	// that changed since the worker started (then it exits).
	TypeResumed = "resumed"
	// CmdResume ends a held worker's wait.
	CmdResume = "resume"
)
