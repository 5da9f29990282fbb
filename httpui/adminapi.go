package httpui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// The remote admin endpoints, for tools (`minitwit backup --url`,
// `minitwit import --url`), guarded by admin.token as a bearer token:
//
//	GET  /admin/api/backup   a backup of the node's state (ops/backup format)
//	POST /admin/api/import   body: a course SQLite database; answer: the import report
//
// They run for as long as their data takes (up to adminAPITimeout), past
// the usual request deadline and the server's read and write timeouts.

const (
	adminAPIPrefix  = "/admin/api/"
	adminAPITimeout = time.Hour
	maxImportBytes  = 1 << 30
)

// Operations is what the admin endpoints need from the node.
type Operations interface {
	// WriteBackup writes a backup holding every write acknowledged before
	// the call.
	WriteBackup(ctx context.Context, w io.Writer) error
	// ImportSQLite imports the course database at path and returns a report
	// (encoded as JSON).
	ImportSQLite(ctx context.Context, path string) (any, error)
}

const adminDisabled = "the admin API is disabled: set admin.token (or MINITWIT_ADMIN_TOKEN) and send it as a bearer token"

func (s *Server) adminBackup(w http.ResponseWriter, r *http.Request) {
	if !s.bearerOK(w, r, s.opts.AdminToken, "admin", adminDisabled) || !s.operationsOK(w) {
		return
	}
	if s.streamBackup(w, r, "minitwit.mtb") {
		s.record(r.Context(), adminAPICaller, "download backup", "")
	}
}

// adminAPICaller names the admin API's caller in the audit trail: whoever
// holds admin.token.
const adminAPICaller = "admin API token"

// streamBackup sends a backup as a download, for as long as it takes, and
// reports whether all of it was written.
func (s *Server) streamBackup(w http.ResponseWriter, r *http.Request, filename string) bool {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(adminAPITimeout))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	// A backup holds the CA key and every password hash (unless
	// encrypted): no browser or proxy cache may keep a copy. The admin
	// pages say the same; the download did not (attack review).
	w.Header().Set("Cache-Control", "no-store")
	// Once data flows an error can only cut the stream short; the backup's
	// checksum makes that visible to the client.
	if err := s.opts.Operations.WriteBackup(r.Context(), w); err != nil {
		s.log.Warn("backup download failed", "req_id", infoFrom(r.Context()).id, "err", err.Error())
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return false
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable) // no effect once streaming started
		return false
	}
	return true
}

func (s *Server) adminImport(w http.ResponseWriter, r *http.Request) {
	if !s.bearerOK(w, r, s.opts.AdminToken, "admin", adminDisabled) || !s.operationsOK(w) {
		return
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(adminAPITimeout))
	rc.SetWriteDeadline(time.Now().Add(adminAPITimeout))
	f, err := os.CreateTemp("", "minitwit-import-*.db")
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, http.MaxBytesReader(w, r.Body, maxImportBytes))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		http.Error(w, "reading the uploaded database: "+err.Error(), http.StatusBadRequest)
		return
	}
	rep, err := s.opts.Operations.ImportSQLite(r.Context(), f.Name())
	if err != nil {
		s.log.Warn("import over the admin API failed", "req_id", infoFrom(r.Context()).id, "err", err.Error())
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	s.record(r.Context(), adminAPICaller, "import database", "")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rep)
}

func (s *Server) operationsOK(w http.ResponseWriter) bool {
	if s.opts.Operations == nil {
		http.Error(w, "this node offers no admin operations", http.StatusNotFound)
		return false
	}
	return true
}
