package testservers

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
)

// The well-known development account every Azurite accepts.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite starts an Azurite blob service of the caller's own and returns its
// blob endpoint (http://127.0.0.1:PORT/devstoreaccount1) with the account
// name and shared key. The server is stopped in t.Cleanup.
func Azurite(t testing.TB) (blobEndpoint, account, key string) {
	t.Helper()
	bin, looked := findBinary("LABELHUB_AZURITE", "azurite-blob",
		filepath.Join(cacheBin(), "azurite-blob"), cacheNodeAzurite())
	if bin == "" {
		missing(t, "azurite-blob ("+looked+")",
			"npm install --prefix ~/.cache/labelhub/node azurite@<version pinned in .ci/run>, or set LABELHUB_AZURITE")
	}
	tmp := t.TempDir()
	location := filepath.Join(tmp, "data")
	args := func(port int) ([]string, error) {
		return []string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
			"--location", location, "--skipApiVersionCheck", "--disableTelemetry", "--loose"}, nil
	}
	ready := func(ctx context.Context, port int) error {
		// Any HTTP answer means it listens; unauthenticated requests get 4xx.
		_, _, err := httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/%s?comp=list", port, AzuriteAccount))
		return err
	}
	srv, port, err := startServer("azurite-blob", bin, nil, tmp, args, ready)
	if err != nil {
		t.Fatalf("testservers: %v", err)
	}
	t.Cleanup(srv.kill)
	return fmt.Sprintf("http://127.0.0.1:%d/%s", port, AzuriteAccount), AzuriteAccount, AzuriteKey
}

// cacheNodeAzurite is where .ci/run installs Azurite with npm:
// <cache>/labelhub/node/node_modules/.bin/azurite-blob.
func cacheNodeAzurite() string {
	bin := cacheBin()
	if bin == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(bin), "node", "node_modules", ".bin", "azurite-blob")
}
