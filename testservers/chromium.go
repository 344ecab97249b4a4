package testservers

import (
	"testing"
)

// ChromiumHeadlessFlags are the flags docs/architecture.md asks for when a
// test runs Chromium headless.
var ChromiumHeadlessFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run",
}

// Chromium returns the path of the Chromium binary: LABELHUB_CHROMIUM, then
// chromium on PATH, then /usr/bin/chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	bin, looked := findBinary("LABELHUB_CHROMIUM", "chromium", "/usr/bin/chromium")
	if bin == "" {
		missing(t, "Chromium ("+looked+")", "apt-get install --no-install-recommends chromium, or set LABELHUB_CHROMIUM")
	}
	return bin
}
