package node

import (
	"time"

	"minitwit/node/config"
	"minitwit/node/publictls"
)

// setupPublicTLS prepares the public listener's TLS mode (node/publictls:
// plain, self-signed, or ACME with the certificates in the replicated
// state) from the configuration.
func (n *Node) setupPublicTLS(httpsPort string) (*publictls.Public, error) {
	mode := publictls.Plain
	switch n.cfg.TLSMode() {
	case config.TLSSelfSigned:
		mode = publictls.SelfSigned
	case config.TLSACME:
		mode = publictls.ACME
	}
	p, err := publictls.Setup(publictls.Options{
		Mode: mode, DataDir: n.cfg.DataDir, NodeID: n.nodeID, HTTPAddr: n.cfg.HTTPAddr, HTTPSPort: httpsPort,
		Domain: n.cfg.TLS.Domain, Email: n.cfg.TLS.Email, ACMECA: n.cfg.TLS.ACMECA, CABundle: n.cfg.TLS.CABundle,
		RedirectAddr: n.cfg.TLS.RedirectAddr, HSTSMaxAge: time.Duration(n.cfg.TLS.HSTSMaxAge),
		Log: n.log, Node: n, CertEvent: n.metrics.CertEvent,
	})
	if err != nil {
		return nil, err
	}
	if mode == publictls.ACME {
		n.metrics.Gauge(`minitwit_tls_certificate_expiry_timestamp_seconds`, func() float64 {
			if t := n.CertificateExpiry(); !t.IsZero() {
				return float64(t.Unix())
			}
			return 0
		})
	}
	return p, nil
}

// CertificateExpiry is when the certificate the public listener serves
// expires, or zero when there is none (plain HTTP, or not obtained yet).
func (n *Node) CertificateExpiry() time.Time { return n.tlsPublic.CertificateExpiry() }
