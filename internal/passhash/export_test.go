package passhash

// DummyHash is the hash DummyVerify verifies against ("" before its first
// call), so that tests can read the parameters a dummy verify runs with.
func (h *Hasher) DummyHash() string { return h.dummy }
