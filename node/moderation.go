package node

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"minitwit/store"
)

// Moderation over the internode port, for `minitwit flag`: the list of
// flagged messages (flagging itself is a FlagMessage proposal through
// ClusterClient.Proposer).

const rpcFlagged = "/flagged"

// FlaggedMessage is one flagged message as `minitwit flag --list` shows it.
type FlaggedMessage struct {
	ID      uint64 `json:"id"`
	Author  string `json:"author"`
	Text    string `json:"text"`
	PubDate int64  `json:"pub_date"`
}

// maxFlaggedList bounds one listing.
const maxFlaggedList = 10_000

func (n *Node) rpcServeFlagged(w http.ResponseWriter, r *http.Request) {
	st, err := n.ReadStore(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	limit := maxFlaggedList
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v < limit {
		limit = v
	}
	var out []FlaggedMessage
	err = st.View(func(tx *store.ReadTx) error {
		msgs, err := tx.FlaggedMessages(limit)
		for _, m := range msgs {
			out = append(out, FlaggedMessage{ID: m.ID, Author: m.Author, Text: m.Text, PubDate: m.PubDate})
		}
		return err
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	json.NewEncoder(w).Encode(out)
}

// Flagged lists the flagged messages, newest first, through the node at
// addr.
func (c *ClusterClient) Flagged(ctx context.Context, addr string) ([]FlaggedMessage, error) {
	data, err := c.do(ctx, http.MethodGet, addr, rpcFlagged, nil)
	if err != nil {
		return nil, err
	}
	var out []FlaggedMessage
	return out, json.Unmarshal(data, &out)
}
