package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"minitwit/store/fsutil"
)

// Internode TLS. A cluster has its own certificate authority, made by the
// node that bootstraps it; every node holds a certificate from it, and
// every connection on raft_addr is mutual TLS 1.3 checked against it. Node
// certificates name a fixed internal server name (clusterServerName), so
// verification does not depend on which address a node is reached at.
// ACME never plays a part here.
const (
	clusterServerName = "minitwit.cluster.internal"
	// TLSDir is the data dir's folder for the node's certificates (and
	// the public listener's self-signed one, node/publictls).
	TLSDir       = "tls"
	caCertFile   = "ca.crt"
	nodeCertFile = "node.crt"
	nodeKeyFile  = "node.key"
	caValidity   = 20 * 365 * 24 * time.Hour
	// nodeCertValidity bounds a node certificate's life; members renew
	// theirs while they are members (renew.go).
	nodeCertValidity = 90 * 24 * time.Hour
	// certBackdate: a node certificate is valid from an hour before it is
	// issued (clock skew), so NotBefore+certBackdate is when it was issued
	// (boundary.go's revocations compare that).
	certBackdate = time.Hour
)

// CA signs node certificates. Its key is part of the replicated state,
// so any member can admit a joining node.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	keyPEM  []byte
}

// NewCA makes a new cluster CA (the bootstrapping node does).
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "minitwit cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return ParseCA(pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER))
}

// ParseCA reads a CA from its PEM certificate and key (the replicated
// state's cluster secrets).
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster CA certificate: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("cluster CA key: not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// CertPEM is the CA's certificate.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// KeyPEM is the CA's private key.
func (ca *CA) KeyPEM() []byte { return ca.keyPEM }

// Issue signs a certificate for a node's public key.
func (ca *CA) Issue(nodeID string, pub *ecdsa.PublicKey) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: nodeID, OrganizationalUnit: []string{"minitwit node"}},
		NotBefore:    time.Now().Add(-certBackdate),
		NotAfter:     time.Now().Add(nodeCertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{clusterServerName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, err
	}
	return pemBlock("CERTIFICATE", der), nil
}

// TLS is this node's identity on raft_addr.
type TLS struct {
	// trust is the CAs whose certificates this node accepts: the cluster
	// CA, and during a CA rotation the next or the previous one too
	// (carotate.go swaps it).
	trust atomic.Pointer[trustSet]
	cert  atomic.Pointer[tls.Certificate] // the current one: renew.go and carotate.go swap it
	// keyPEM is the node's private key, which a renewed certificate keeps.
	keyPEM []byte
	id     string // the node id in the certificate
	// Dial opens the raw connection under TLS when set (a test's fault
	// point, node.Options.DialCluster); nil dials directly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewNodeKey makes a node's private key, returned with its PEM form.
func NewNodeKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pemBlock("EC PRIVATE KEY", der), nil
}

// trustSet is a set of trusted CAs.
type trustSet struct {
	pem  []byte // the CA certificates, one after the other (tls/ca.crt)
	cas  []*x509.Certificate
	pool *x509.CertPool
}

// newTrustSet reads one or more PEM CA certificates.
func newTrustSet(caPEM []byte) (*trustSet, error) {
	ts := &trustSet{pem: caPEM, pool: x509.NewCertPool()}
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cluster CA certificate: %w", err)
		}
		ts.cas = append(ts.cas, ca)
		ts.pool.AddCert(ca)
	}
	if len(ts.cas) == 0 {
		return nil, errors.New("cluster CA certificate: not PEM")
	}
	return ts, nil
}

// has reports whether ca is one of the set.
func (ts *trustSet) has(ca *x509.Certificate) bool {
	for _, c := range ts.cas {
		if c.Equal(ca) {
			return true
		}
	}
	return false
}

// issuer is the CA of the set that signed cert (nil: none).
func (ts *trustSet) issuer(cert *x509.Certificate) *x509.Certificate {
	for _, c := range ts.cas {
		if cert.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

// MakeTLS checks a node certificate against the CAs (one or more PEM
// certificates) and makes the identity.
func MakeTLS(caPEM, certPEM, keyPEM []byte) (*TLS, error) {
	ts, err := newTrustSet(caPEM)
	if err != nil {
		return nil, err
	}
	pool := ts.pool
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("node certificate is not from this cluster's CA: %w", err)
	}
	pair.Leaf = leaf
	t := &TLS{id: leaf.Subject.CommonName, keyPEM: keyPEM}
	t.trust.Store(ts)
	t.cert.Store(&pair)
	return t, nil
}

// LoadTLS reads the node's certificates from the data dir; it returns
// (nil, nil) when there are none yet.
func LoadTLS(dataDir string) (*TLS, error) {
	dir := filepath.Join(dataDir, TLSDir)
	caPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	certPEM, err1 := os.ReadFile(filepath.Join(dir, nodeCertFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, nodeKeyFile))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("node certificate in %s: %w", dir, err)
	}
	return MakeTLS(caPEM, certPEM, keyPEM)
}

// SaveTLS writes the certificates (the key readable by the owner only)
// and syncs them, so a node that was admitted keeps its identity.
func SaveTLS(dataDir string, caPEM, certPEM, keyPEM []byte) error {
	dir := filepath.Join(dataDir, TLSDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// In this order: the CAs before the certificate, so that a crash
	// between the two (a CA rotation: carotate.go) leaves a certificate
	// that the CAs on disk vouch for. Each file is replaced whole: the
	// admin tools read them while the node rewrites them.
	for _, f := range []struct {
		name string
		data []byte
	}{{nodeKeyFile, keyPEM}, {caCertFile, caPEM}, {nodeCertFile, certPEM}} {
		if err := fsutil.WriteFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// serverConfig accepts node certificates from the cluster CA, and, only for
// the join handshake, clients without one (see transport.go).
//
// The trusted CAs are read at each handshake: a CA rotation changes them
// while the port serves.
func (t *TLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				MinVersion:     tls.VersionTLS13,
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
				ClientCAs:      t.trust.Load().pool,
				ClientAuth:     tls.VerifyClientCertIfGiven,
			}, nil
		},
	}
}

// clientConfig presents this node's certificate and trusts only the
// cluster CA.
func (t *TLS) clientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
		RootCAs:              t.trust.Load().pool,
		ServerName:           clusterServerName,
	}
}

// CAPEM is the trusted CAs' certificates: the cluster CA's, and during a
// CA rotation the other one's.
func (t *TLS) CAPEM() []byte { return t.trust.Load().pem }

// CertPEM is this node's certificate.
func (t *TLS) CertPEM() []byte { return pemBlock("CERTIFICATE", t.cert.Load().Certificate[0]) }

// KeyPEM is this node's private key.
func (t *TLS) KeyPEM() []byte { return t.keyPEM }

// NotAfter is when this node's certificate expires.
func (t *TLS) NotAfter() time.Time { return t.cert.Load().Leaf.NotAfter }

// ID is the node id the certificate names.
func (t *TLS) ID() string { return t.id }

// hasClusterCert reports whether the TLS peer presented a certificate that
// chains to the cluster CA (the server config already verified it).
func hasClusterCert(cs tls.ConnectionState) bool {
	return len(cs.VerifiedChains) > 0
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
