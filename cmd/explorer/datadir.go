package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	domain "github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/run/postgres"
	"github.com/contrastive-explorer/explorer/run/sqlite"
)

// The data folder (--data) holds everything that outlives a process.
const (
	storeFile      = "explorer.db" // the SQLite store: runs, epochs, frames, uploads' records
	uploadsDir     = "uploads"     // uploaded files, one folder per upload
	sessionKeyFile = "session.key" // signs session cookies, so sessions survive restarts
	replicaFile    = "replica.id"  // names this server among replicas sharing a store
)

// defaultDataDir is the explorer's folder in the user's data directory
// ($XDG_DATA_HOME, else ~/.local/share on Unix; the configuration folder
// on macOS and Windows), or a folder in the working directory where there
// is none.
func defaultDataDir() string {
	const name = "contrastive-explorer"
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, name)
	}
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", name)
		}
	}
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, name)
	}
	return "explorer-data"
}

// openKeptStore opens the store the commands that read kept runs use: the
// PostgreSQL database at addr, or, when addr is "", the SQLite file of a
// data folder that must hold one already; cmd prefixes the errors.
func openKeptStore(ctx context.Context, dir, addr, cmd string) (domain.Store, error) {
	if addr == "" {
		if _, err := os.Stat(filepath.Join(dir, storeFile)); err != nil {
			return nil, fmt.Errorf("%s: no runs are kept in %s (%v); pass the folder `explorer serve --data` uses, or its --store", cmd, dir, err)
		}
	}
	var st domain.Store
	var err error
	if addr == "" {
		st, err = openStore(ctx, dir)
	} else if err = checkStoreAddr(cmd, addr); err == nil {
		// Beside running servers: migrate nothing.
		st, err = postgres.OpenExisting(ctx, addr)
	}
	if err != nil {
		if u := (*usageError)(nil); errors.As(err, &u) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, nil
}

// storeFlagHelp is the help of the --store flag of the commands that read
// the server's store.
const storeFlagHelp = "the server's PostgreSQL store (`postgres://` URL), when it keeps runs there (serve --store); default: the SQLite file in --data"

// openServeStore opens the server's store: the PostgreSQL database at
// addr (a postgres:// URL or a key=value connection string), or, when addr
// is "", the SQLite file of the data folder.
func openServeStore(ctx context.Context, dir, addr string) (domain.Store, error) {
	if addr == "" {
		return openStore(ctx, dir)
	}
	if err := checkStoreAddr("serve", addr); err != nil {
		return nil, err
	}
	st, err := postgres.Open(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	return st, nil
}

// uploadFiles is where the server keeps uploads' files: in the PostgreSQL
// store when runs are kept there (replicas share no disk), else nil, a
// folder per upload in the data folder.
func uploadFiles(st domain.Store) datasets.Files {
	if pg, ok := st.(*postgres.Store); ok {
		return pg
	}
	return nil
}

// checkStoreAddr refuses a --store of command cmd that is not
// PostgreSQL's.
func checkStoreAddr(cmd, addr string) error {
	if !strings.HasPrefix(addr, "postgres://") && !strings.HasPrefix(addr, "postgresql://") && !strings.Contains(addr, "=") {
		return usagef("%s: --store: want a postgres:// URL (or a key=value connection string), or nothing for the SQLite file in --data", cmd)
	}
	return nil
}

// openStore opens (creating if needed) the store of a data folder, with
// an error that says what to do when the file is damaged.
func openStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	path := filepath.Join(dir, storeFile)
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w (move %s away to start with an empty one)", err, path)
	}
	return st, nil
}

// replicaID returns the data folder's replica name, made on first use:
// the same across restarts, so a restarted server knows its own runs.
func replicaID(dir string) (string, error) {
	path := filepath.Join(dir, replicaFile)
	b, err := os.ReadFile(path)
	if id := strings.TrimSpace(string(b)); err == nil && id != "" {
		return id, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("replica id: %w", err)
	}
	id := "replica-" + domain.RandomHex(6)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("replica id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("replica id: %w", err)
	}
	return id, nil
}

// sessionKey returns the data folder's session key, made on first use.
func sessionKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, sessionKeyFile)
	key, err := os.ReadFile(path)
	if err == nil && len(key) >= 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session key: %w", err)
	}
	key = make([]byte, 32)
	_, _ = rand.Read(key)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return key, nil
}

// concurrentRunsInMemory is how many runs the default --max-run-mb lets
// train at once in the machine's memory.
const concurrentRunsInMemory = 8

// defaultMaxRunMB is an eighth of the machine's memory, in MB, or 1000
// where it cannot be read.
func defaultMaxRunMB() int {
	if total := totalMemory(); total > 0 {
		return max(int(total/concurrentRunsInMemory/1_000_000), 100)
	}
	return 1000
}

// totalMemory reads MemTotal from /proc/meminfo, 0 when there is none.
func totalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1000
	}
	return 0
}
