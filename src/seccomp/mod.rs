//! Seccomp filters (`linux.seccomp`): not implemented yet; spec validation rejects the field.
