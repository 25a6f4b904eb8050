package version

import "testing"

func TestVersionIsCanonicalPEP440(t *testing.T) {
	if !Canonical(Version) {
		t.Fatalf("Version %q is not a canonical PEP 440 version; the wheels need one", Version)
	}
}

func TestCanonical(t *testing.T) {
	for v, want := range map[string]bool{
		"0.1.0": true, "1": true, "1.2.3rc1": true, "2.0.0a0": true, "1.0.post1": true,
		"1.0.dev3": true, "1!2.0": true, "1.0b2.post3.dev4": true,
		"": false, "v1.0": false, "1.0-rc1": false, "01.0": false, "1.0.0+local": false,
		"1.0.0-beta": false, "1..0": false, "1.0rc": false, "1.0.RC1": false,
	} {
		if got := Canonical(v); got != want {
			t.Errorf("Canonical(%q) = %v, want %v", v, got, want)
		}
	}
}
