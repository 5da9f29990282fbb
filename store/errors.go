package store

import "errors"

// Typed errors of the data model. Write operations return them before they
// change anything, so a failed operation inside a shared transaction leaves no
// trace.
var (
	ErrUnknownUser    = errors.New("unknown user")
	ErrNameTaken      = errors.New("the username is already taken")
	ErrFollowSelf     = errors.New("a user cannot follow themselves")
	ErrUnknownMessage = errors.New("unknown message")
	ErrInvalid        = errors.New("invalid value")
	// ErrLastAdmin refuses to revoke the only admin's rights, so that a
	// cluster's own admins can never lock everyone out of its admin pages.
	ErrLastAdmin = errors.New("the last admin cannot be revoked")
	// ErrAdminExists refuses to create a cluster's first admin once an admin
	// exists (RegisterFirstAdmin).
	ErrAdminExists = errors.New("an admin already exists")
	// ErrPasswordChanged refuses a conditional password change whose
	// expected old hash is no longer the stored one.
	ErrPasswordChanged = errors.New("the password was changed meanwhile")
	// ErrCodeUsed refuses a second-factor code that was used already: a
	// time step at or before the last one accepted, or a recovery code
	// that is spent or unknown.
	ErrCodeUsed = errors.New("the code was used already")
	// ErrNoTOTP refuses a second-factor sign-in of an account that has no
	// second factor (reset meanwhile).
	ErrNoTOTP = errors.New("the account has no second factor")
	// ErrInUse means another process holds the data file open.
	ErrInUse = errors.New("the data file is locked")
	// ErrNewerSchema means the data file was written by a newer MiniTwit.
	ErrNewerSchema = errors.New("data file was written by a newer version of minitwit")
)
