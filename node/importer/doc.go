// Package importer owns reading a database in the course's SQLite schema
// (user, follower, message) into MiniTwit commands, proposed through a
// running node or a client of one (any Proposer); see importer.go for how
// each table maps and why a second run changes nothing.
//
// It knows nothing of the node's lifecycle: importing into a stopped data
// dir (node.ImportIntoDataDir) starts the node and calls FromSQLite, and
// the admin API's import (node.Node.ImportSQLite) does the same on a
// running node. Users keep their stored hashes, which httpui/auth verifies
// at login and replaces with argon2id.
//
// The file is untrusted input. Only ordinary tables are read (a view, a
// recursive one say, could yield rows without end); row counts are capped
// (Limits) before anything is proposed; rows are read in batches and
// proposed before the next batch is read; values longer than the store
// takes are measured in SQLite and never loaded. Imported users are held
// to the rules of a name chosen now (store.ValidateNewUsername, and no name
// equal but for case or Unicode form to another of the file or to a user
// already there: see NameSource), e-mails to one line, and hashes
// to checkHash. A row that breaks them is left out, as are the follows and
// messages that depend on it, and the Report lists them with why: one bad
// row does not stop an import of thousands of good ones.
package importer
