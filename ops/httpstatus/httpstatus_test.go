package httpstatus_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"minitwit/ops/httpstatus"
)

func TestWriterRemembersFirstStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &httpstatus.Writer{ResponseWriter: rec}
	if w.Status != 0 {
		t.Fatalf("status before any write = %d, want 0", w.Status)
	}
	w.WriteHeader(http.StatusTeapot)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if w.Status != http.StatusTeapot || w.Bytes != 5 {
		t.Fatalf("status %d bytes %d, want 418 and 5", w.Status, w.Bytes)
	}
	if rec.Code != http.StatusTeapot || rec.Body.String() != "hello" {
		t.Fatalf("underlying writer got %d %q", rec.Code, rec.Body.String())
	}
}

func TestWriterBodyWithoutHeaderIs200(t *testing.T) {
	w := &httpstatus.Writer{ResponseWriter: httptest.NewRecorder()}
	if _, err := w.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if w.Status != http.StatusOK || w.Bytes != 3 {
		t.Fatalf("status %d bytes %d, want 200 and 3", w.Status, w.Bytes)
	}
}

// The wrapper must not hide the connection from http.ResponseController:
// streamed answers flush and extend their deadlines through it.
func TestWriterUnwrapReachesConnection(t *testing.T) {
	flushed := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &httpstatus.Writer{ResponseWriter: rw}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		flushed <- rc.Flush() == nil
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !<-flushed {
		t.Fatal("Flush through the wrapper failed")
	}
}
