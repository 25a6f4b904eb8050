package pyworker

import _ "embed"

//go:embed herd_doctor.py
var doctorScript []byte

// DoctorScript returns herd doctor's analyzer: a standalone Python script
// (standard library only) that reads a suite's sources with ast and prints
// what it found as JSON. herd runs it with the suite's interpreter as
// `python -I - ROOTDIR PATH...`, the script on stdin.
func DoctorScript() []byte { return doctorScript }
