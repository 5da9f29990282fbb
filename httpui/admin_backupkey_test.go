package httpui_test

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/backup"
)

// TestAdminBackupEncryption: the overview warns while backups go to S3
// unencrypted, and not once backup.encryption_key_file is set; with the key
// set, the admin's backup download is encrypted and opens with that key.
func TestAdminBackupEncryption(t *testing.T) {
	t.Parallel()
	const warning = "Backups go to S3 unencrypted"
	withS3 := func(c *config.Config) {
		// Never contacted: the first scheduled backup is hours away.
		c.Backup.S3 = config.S3Config{Endpoint: "127.0.0.1:1", Bucket: "backups", Prefix: "minitwit/",
			Region: "us-east-1", AccessKey: "key", SecretKey: "secret", Insecure: true}
	}

	plain := nodetest.Config(t.TempDir())
	withS3(&plain)
	n := nodetest.Start(t, web, plain)
	p := adminSession(t, "http://"+n.HTTPAddr()).get(t, "/admin")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, warning, "backup.encryption_key_file")

	key, err := backup.GenerateKeyFile(filepath.Join(t.TempDir(), "backup.key"))
	if err != nil {
		t.Fatal(err)
	}
	enc := nodetest.Config(t.TempDir())
	withS3(&enc)
	enc.Backup.EncryptionKeyFile = key.Path
	n = nodetest.Start(t, web, enc)
	admin := adminSession(t, "http://"+n.HTTPAddr())
	p = admin.get(t, "/admin")
	uiWantStatus(t, p, http.StatusOK)
	uiWantLacks(t, p, warning)

	b := admin.getStay(t, "/admin/backup")
	uiWantStatus(t, b, http.StatusOK)
	if !strings.HasPrefix(b.Body, "age-encryption.org/v1\n") {
		t.Fatalf("the downloaded backup is not encrypted: %.24q", b.Body)
	}
	r, err := backup.Open(strings.NewReader(b.Body), key)
	if err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	h, err := backup.Read(r, &data)
	if err != nil || h.Node != n.ID() || int64(data.Len()) != h.Size {
		t.Fatalf("the download read back as %+v, %d bytes: %v", h, data.Len(), err)
	}
	if _, err := backup.Read(strings.NewReader(b.Body), io.Discard); err == nil {
		t.Error("the encrypted download read without its key")
	}
}
