package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// adminClient calls a node's admin endpoints (/admin/api/...) with a
// bearer token, trusting the system's roots plus, if given, the PEM file ca
// (a self-signed node).
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAdminClient(base, token, ca string) (*adminClient, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("--url %q must start with http:// or https://", base)
	}
	if token == "" {
		token = os.Getenv("MINITWIT_ADMIN_TOKEN")
	}
	if token == "" {
		return nil, fmt.Errorf("--url needs the node's admin token: --token or MINITWIT_ADMIN_TOKEN")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca != "" {
		pemData, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{Transport: tr, Timeout: 2 * time.Hour}}, nil
}

// do sends a request to path and returns the answer's body if it is 200.
func (c *adminClient) do(method, path string, body io.Reader) (io.ReadCloser, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s: %s", c.base, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}
