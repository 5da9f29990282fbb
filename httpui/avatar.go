package httpui

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Avatars: by default an identicon the node draws itself, an SVG derived
// from a hash of the author's e-mail address, so a timeline makes no
// request to a third party and works offline. With ui.gravatar the pages
// link to gravatar.com instead (its own identicon when the address has no
// picture there).
//
// The URL carries SHA-256 of the trimmed, lower-cased address, cut to 128
// bits: enough to tell users apart, and the drawing depends on nothing
// else, so a response is cached for good. (Like Gravatar's MD5 it can be
// matched against a guessed address; the page shows the author's name
// anyway, never the address.)

const avatarPrefix = "/static/avatar/"

// avatarURL is the picture of the author with this e-mail address.
func avatarURL(email string, size int, gravatar bool) string {
	norm := strings.ToLower(strings.TrimSpace(email))
	if gravatar {
		sum := md5.Sum([]byte(norm))
		return "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?d=identicon&s=" + strconv.Itoa(size)
	}
	sum := sha256.Sum256([]byte(norm))
	return avatarPrefix + hex.EncodeToString(sum[:16])
}

// avatar serves the identicon for the hash in the path; anything but 32
// lower-case hex digits is 404.
func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	h := r.PathValue("hash")
	seed, err := hex.DecodeString(h)
	if err != nil || len(seed) != 16 || strings.ToLower(h) != h {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(identicon(seed))
}

// identicon draws a 5×5 grid mirrored left to right, 15 cells on or off
// by the seed's first bits, in one colour whose hue comes from the seed's
// last bytes, on a light background.
func identicon(seed []byte) []byte {
	hue := (int(seed[14])<<8 | int(seed[15])) % 360
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 6 6" shape-rendering="crispEdges">`+
		`<rect width="6" height="6" fill="#f2f2f2"/><g fill="hsl(%d,55%%,48%%)">`, hue)
	bit := 0
	for col := 0; col < 3; col++ {
		for row := 0; row < 5; row++ {
			on := seed[bit/8]>>(bit%8)&1 == 1
			bit++
			if !on {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="1" height="1"/>`, cell(col), cell(row))
			if col < 2 {
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="1" height="1"/>`, cell(4-col), cell(row))
			}
		}
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}

// cell is the SVG coordinate of grid cell i, with half a cell of margin.
func cell(i int) string { return strconv.FormatFloat(float64(i)+0.5, 'f', -1, 64) }
